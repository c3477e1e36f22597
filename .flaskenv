# Public settings for `flask run` (private ones go in .env, see .env.example).
FLASK_APP=app.py
FLASK_RUN_PORT=5000
