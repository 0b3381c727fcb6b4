from flask import Blueprint

bp = Blueprint("evaluator", __name__, url_prefix="/evaluate")


@bp.get("/")
def queue():
    return "queue"
