"""Route handlers, one controller per resource."""

from serving.controllers.discover import DiscoverController
from serving.controllers.genres import GenresController
from serving.controllers.health import HealthController
from serving.controllers.ops import OpsController
from serving.controllers.predict import PredictController
from serving.controllers.titles import TitlesController

__all__ = [
    "DiscoverController",
    "GenresController",
    "HealthController",
    "OpsController",
    "PredictController",
    "TitlesController",
]
