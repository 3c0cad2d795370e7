"""Default configuration. Every value can be overridden by a ``TRACKER_*`` environment
variable or by ``instance/config.py``; nothing here reads files or the environment."""

DATABASE_URL = None  # None: sqlite:///<instance>/tracker.db
UPLOAD_DIR = None  # None: <instance>/uploads
# Files in S3-compatible object storage rather than under UPLOAD_DIR (which is then only scratch
# space): s3://bucket/prefix, with the endpoint and keys below. See tracker/storage.
STORAGE_URL = None
S3_ENDPOINT_URL = None
S3_ACCESS_KEY = None
S3_SECRET_KEY = None
S3_REGION = None  # not in CONTRACT.md; us-east-1 when unset (MinIO ignores it)
S3_TIMEOUT_SECONDS = 30  # not in CONTRACT.md: connecting, and each read, of the object store
MAX_UPLOAD_MB = 50
TIMEZONE = "Asia/Shanghai"
SCHEDULER = "on"
REMIND_DAYS_BEFORE = "7,3,1,0"
OVERDUE_REPEAT_DAYS = 3
ESCALATE_AFTER_DAYS = 1
REMIND_AT = "09:00"
# Not in CONTRACT.md: a close-out or extension request waiting this many days reminds its
# reviewers; reminders only on working days (weekends and the admin's holiday table off).
REVIEW_WAIT_DAYS = 3
REMIND_WORKING_DAYS_ONLY = False
# Not in CONTRACT.md: the scheduler rebuilds the roll-up today's dashboards read every this many
# minutes; a roll-up older than STATS_MAX_AGE_MINUTES is not shown (figures are computed then).
STATS_REFRESH_MINUTES = 1
STATS_MAX_AGE_MINUTES = 10
# Notifications, and outbox messages done with, are kept this many days (housekeeping prunes them).
NOTIFICATION_KEEP_DAYS = 180
# Where reminder links point: the address users open tracker at.
BASE_URL = "http://127.0.0.1:5000"
MAIL_SERVER = None
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_USE_SSL = False
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_SENDER = None
# No mail server can hold the sender: seconds for any one read or write, for opening a session
# (connect, greeting, TLS, login), for sending one message; and for a whole drain of the outbox.
MAIL_TIMEOUT_SECONDS = 10
MAIL_SESSION_SECONDS = 30
MAIL_MESSAGE_SECONDS = 60
DRAIN_SECONDS = 50
# One chat-robot or webhook request, connecting to the end of its answer.
ROBOT_REQUEST_SECONDS = 20

# A report is read in a child process that is stopped after this many seconds or this much memory.
IMPORT_TIMEOUT_SECONDS = 20
IMPORT_MEMORY_MB = 1024

# Imported problems get this deadline (month-day) of the year after the report's year; when that
# day has passed (an old report imported late), this many days from the import instead.
IMPORT_DEFAULT_DEADLINE = "06-30"
IMPORT_LATE_DEADLINE_DAYS = 90

# 整改类型: a 立行立改 item's default deadline (days from its creation); a 长期坚持 item needs a
# progress note this often, and its owner is reminded by that cadence rather than by a deadline.
IMMEDIATE_DEADLINE_DAYS = 30
LONG_TERM_REVIEW_DAYS = 90

# A web ledger of more rows than this is built in the background (a page shows its progress); the
# file is kept this many hours.
EXPORT_INLINE_ROWS = 10000
EXPORT_KEEP_HOURS = 24

# Rows per page on list views; per_page requests are clamped to MAX_PER_PAGE.
PER_PAGE = 50
MAX_PER_PAGE = 200

# werkzeug's method for new password hashes; the hash records its method, so changing this
# keeps existing passwords working.
PASSWORD_HASH_METHOD = "scrypt"

# Sign-in (tracker.org.signin): from the 5th failure within the window each attempt waits longer,
# the 10th locks the account; an address is locked after 100 failures, or 20 wrong API tokens.
LOGIN_DELAY_AFTER = 5
LOGIN_LOCK_AFTER = 10
LOGIN_ADDRESS_LOCK_AFTER = 100
TOKEN_ADDRESS_LOCK_AFTER = 20
LOGIN_WINDOW_MINUTES = 15
LOGIN_LOCK_MINUTES = 15
# A session ends after this long without a request, and this long after signing in, whatever.
SESSION_IDLE_MINUTES = 120
SESSION_LIFETIME_HOURS = 12
# Sign-in log lines are kept this many days.
SIGN_IN_LOG_DAYS = 365
# Behind this many reverse proxies (nginx), the client address is taken from X-Forwarded-For.
TRUSTED_PROXIES = 0

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
# Not in CONTRACT.md: PostgreSQL's parallel workers per query (max_parallel_workers_per_gather) on
# tracker's connections. A page's statements are short: starting workers cost more than they saved
# (a province's search at 10^6, 161 → 45 ms; every list page faster on 2 cores with 4 web workers).
PG_PARALLEL_WORKERS = 0
WTF_I18N_ENABLED = False  # forms use WTForms' own zh catalogue (see tracker.forms)
BOOTSTRAP_SERVE_LOCAL = True  # government intranets have no internet: no CDN
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False  # TRACKER_SESSION_COOKIE_SECURE=true behind HTTPS
