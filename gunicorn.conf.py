"""gunicorn's settings file, read when gunicorn starts in this folder: each worker runs the
scheduler beside its requests when TRACKER_SCHEDULER=on (one of them at a time, by a lock); with
TRACKER_SCHEDULER=off the workers only serve and ``flask --app wsgi tracker scheduler`` runs it."""


def post_worker_init(worker):
    from tracker.scheduler.runner import run_in_process

    run_in_process(worker.wsgi)
