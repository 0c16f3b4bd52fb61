"""Route handlers, one controller per resource."""

from serving.controllers.genres import GenresController
from serving.controllers.health import HealthController
from serving.controllers.titles import TitlesController

__all__ = ["GenresController", "HealthController", "TitlesController"]
