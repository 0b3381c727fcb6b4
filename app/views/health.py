"""GET /healthz: for the load balancer and the operator's monitoring; public, and it says nothing secret."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.services import health as health_service

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    report = health_service.health(current_app.config.get("WORKER_HEARTBEAT_MAX_AGE",
                                                          health_service.DEFAULT_MAX_AGE))
    response = jsonify(report.as_json())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
