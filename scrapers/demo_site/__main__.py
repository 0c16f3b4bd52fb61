"""``python -m scrapers.demo_site``: serve the demo sites until Ctrl-C."""

from __future__ import annotations

import argparse
import time
from datetime import date

from scrapers.demo_site import build_catalog, serve_demo_sites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--titles", type=int, default=1000, help="catalog size")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=date.today(),
        help="the sites' clock (YYYY-MM-DD): what is listed and reviewed by then",
    )
    parser.add_argument("--reelhub-port", type=int, default=8101)
    parser.add_argument("--filmfolio-port", type=int, default=8102)
    args = parser.parse_args(argv)

    catalog = build_catalog(args.titles, args.seed)
    ports = {"reelhub": args.reelhub_port, "filmfolio": args.filmfolio_port}
    with serve_demo_sites(catalog, as_of=args.as_of, ports=ports) as sites:
        for name, url in sites.urls.items():
            print(f"{name}: {url}", flush=True)
        print(f"as of {args.as_of}; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
