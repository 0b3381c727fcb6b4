from flask import Blueprint

bp = Blueprint("applicant", __name__, url_prefix="/apply")


@bp.get("/")
def home():
    return "applicant"


@bp.post("/calls/<code>/start")
def start(code):
    return "start"
