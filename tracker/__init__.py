"""tracker: follow-up of rectification items (整改事项) from annual rule-of-law reports."""

import importlib
import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from tracker.extensions import bootstrap, csrf, db, login_manager, migrate
from tracker.web.params import is_on


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    app.config.from_object("tracker.config")
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        _strip_prefix(app)
        app.config.from_prefixed_env("TRACKER")
    else:
        app.config.from_mapping(test_config)
        _strip_prefix(app)
    _derive(app)

    db.init_app(app)
    app.json.ensure_ascii = False  # Chinese stays readable in API answers
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True, compare_type=True,
                     include_name=in_models)
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)

    from tracker import models  # noqa: F401  (register every model with the metadata)
    from tracker.admin import bp as admin_bp
    from tracker.api.views import bp as api_bp
    from tracker.cli import tracker_cli
    from tracker.exports.views import bp as exports_bp
    from tracker.importing.views import bp as importing_bp
    from tracker.items.views import bp as items_bp
    from tracker.org.views import bp as auth_bp
    from tracker.reminders.views import bp as reminders_bp
    from tracker.reports.views import bp as reports_bp
    from tracker.stats.views import bp as stats_bp
    from tracker.urging.views import bp as urging_bp
    from tracker.web.converters import register_converters
    from tracker.web.pages import register_web

    register_converters(app)  # before the blueprints whose routes use them
    for domain in ("org", "items", "importing", "reminders", "urging"):  # each puts its pages on /admin
        importlib.import_module(f"tracker.{domain}.admin")
    app.register_blueprint(auth_bp)
    app.register_blueprint(items_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(importing_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(urging_bp)
    register_web(app)
    app.cli.add_command(tracker_cli)
    if int(app.config.get("TRUSTED_PROXIES") or 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    from tracker.items import search
    from tracker.items.evidence import watch_new_files

    watch_new_files()
    search.watch()
    _configure_logging()
    return app


def in_models(name, type_, parent_names) -> bool:
    """What Alembic compares with the models: not the search documents, whose table each engine
    has in its own form (an FTS5 table and its shadow tables on SQLite; see items.search)."""
    return not (type_ == "table" and name and name.startswith("item_search"))


def _configure_logging() -> None:
    """tracker's own records at INFO; libraries' routine chatter left out."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every run of the every-minute drain at INFO; our jobs log what they did.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    # pypdf warns for each oddity of a malformed PDF; the reader answers the user in one sentence.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _strip_prefix(app: Flask) -> None:
    """Accept ``TRACKER_X`` as well as ``X`` in instance/config.py and test configs."""
    for key in [k for k in app.config if k.startswith("TRACKER_")]:
        app.config[key.removeprefix("TRACKER_")] = app.config.pop(key)


def _derive(app: Flask) -> None:
    config = app.config
    instance = Path(app.instance_path)
    config["SQLALCHEMY_DATABASE_URI"] = config.get("DATABASE_URL") or f"sqlite:///{instance / 'tracker.db'}"
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and config.get("PG_PARALLEL_WORKERS") not in (None, ""):
        options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args["options"] = (connect_args.get("options", "") +
                                   f" -c max_parallel_workers_per_gather={int(config['PG_PARALLEL_WORKERS'])}").strip()
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options | {"connect_args": connect_args}
    config["UPLOAD_DIR"] = str(config.get("UPLOAD_DIR") or instance / "uploads")
    from tracker import storage

    storage.from_config(config)  # a TRACKER_STORAGE_URL that cannot be used stops the start, saying why
    config["MAX_UPLOAD_MB"] = int(config["MAX_UPLOAD_MB"])
    # Room above the file limit for the other form fields; the file itself is checked exactly.
    config["MAX_CONTENT_LENGTH"] = config["MAX_UPLOAD_MB"] * 1024 * 1024 + 64 * 1024
    config["MAX_FORM_MEMORY_SIZE"] = 2 * 1024 * 1024
    config["SESSION_COOKIE_SECURE"] = is_on(config.get("SESSION_COOKIE_SECURE"))
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance)


def _instance_secret(instance: Path) -> str:
    """A secret key generated once and kept in the instance folder."""
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()
