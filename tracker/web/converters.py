"""URL converters registered once: ``<id:item_id>`` for a row's id, ``<year:year>`` for a year.

An id past the database's integer range is a 404 from the router, not an overflow in SQL."""

from flask import Flask
from werkzeug.routing import IntegerConverter

from tracker.web.params import DB_ID_MAX, YEAR_MAX, YEAR_MIN


class IdConverter(IntegerConverter):
    def __init__(self, url_map):
        super().__init__(url_map, max=DB_ID_MAX)


class YearConverter(IntegerConverter):
    def __init__(self, url_map):
        super().__init__(url_map, min=YEAR_MIN, max=YEAR_MAX)


def register_converters(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["year"] = YearConverter
