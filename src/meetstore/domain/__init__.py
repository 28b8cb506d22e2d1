"""Pure domain: no FastAPI, SQLAlchemy or boto3 imports here."""
