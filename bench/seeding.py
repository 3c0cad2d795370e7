"""The province the benchmarks seed: 1 province bureau, 15 city bureaus, 150 county bureaus
and 450 teams (616 units)."""

from pathlib import Path

from tests import pg
from tracker.extensions import db
from tracker.org.models import Unit

OUT = Path(__file__).parent / "out"


class Counter:
    """Counts SQL statements: ``event.listen(engine, "before_cursor_execute", counter)``."""

    def __init__(self):
        self.n = 0

    def __call__(self, *args):
        self.n += 1


def fresh_database(database_url: str | None, name: str) -> str:
    """An empty database: the PostgreSQL one named by ``database_url``, dropped and created again,
    or else a new SQLite file ``bench/out/<name>.db``."""
    OUT.mkdir(exist_ok=True)
    if database_url:
        pg.drop_database(database_url)
        pg.ensure_database(database_url)
        return database_url
    path = OUT / f"{name}.db"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def unit_tree() -> list[tuple[int, str]]:
    """Insert the province's units; returns (id, path) of each, top first."""
    units: list[tuple[int, str]] = []

    def add_unit(name, parent_path):
        unit = Unit(name=name, path="")
        if parent_path:
            unit.parent_id = int(parent_path.strip("/").split("/")[-1])
        db.session.add(unit)
        db.session.flush()
        unit.path = (parent_path or "/") + f"{unit.id}/"
        units.append((unit.id, unit.path))
        return unit.path

    province = add_unit("省交通运输厅", None)
    for c in range(15):
        city = add_unit(f"第{c}市交通运输局", province)
        for k in range(10):
            county = add_unit(f"第{c}市第{k}县交通运输局", city)
            for t in range(3):
                add_unit(f"第{c}市第{k}县第{t}执法大队", county)
    return units


def signed_in(app, username: str, password: str):
    """A test client signed in through the sign-in form, as a browser would be."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return client
