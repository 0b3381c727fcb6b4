"""The authorization matrix (DESIGN 6.2): every route × every kind of visitor → the expected HTTP status, no leak.

One competition world is built once per backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), in the
Ogre municipality:
- call A in evaluation, with application X of organisation O in review: evaluator E declared no conflict
  (accepted), evaluator C recused (a conflict of interest is recorded), a replacement was auto-assigned;
- call B in reporting, with grant Y of O contracted (reports, payments, agreement) and grant Z of O terminated
  after a paid tranche (a recovery demanded); its commission protocol stored;
- call D still a draft; call F open, with a draft of O;
- in Jelgava, call J of the other admin.

Then every cell of EXPECTED is requested with the Flask test client: GET on every route, POST where the route takes
POST. A visitor who must be refused posts what would do harm if the policy let them through (ATTACKS); one who may
act posts an empty form, which the form or a guard refuses, so the world stays as it was for the next cell. The
database is compared, every table and row, before and after each POST (and around all the GETs: a GET never writes).
Afterwards, the visitors who may act post the same harmful bodies (CONTROLS), which must move the world: the refusals
were the policy's. The tests below read what the walk recorded.

The table is data. Each row names a route (endpoint and method, and optionally which object of the world the URL
names; the default is the one listed in `World.params`) and the status each visitor must get:
    200  the page                          302  a redirect somewhere other than the login page
    LOGIN  302 to /login (anonymous)       400  authorised, but the (deliberately empty) form is refused
    403  known role, wrong kind of user    404  may not know the object exists
    405  the route does not take the method
A new route fails `test_every_route_has_its_rows` until its rows are written here.
"""
from __future__ import annotations

import re
import hashlib
import io
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import event, select

from app import create_app
from app.extensions import db
from app.models import (ApplicationFile, AttachmentType, Check, CostCategory, Criterion, Document,
                        EvaluatorAffiliation, Message, Payment, Question, RankingProtocol, Recovery, Report, User)
from app import clock
from app.models.agreements import AgreementSignature
from app.services import agreements, evaluation, evaluators, jobs, payment_batches, reporting
from app.services.links import serializer
from app.services.password_reset import _fingerprint
from app.services.workflow import fire
from tests import factories
from tests.conftest import BACKENDS, STUB_PDF, IsolatedClient, migrate_to_head, postgres_schema

# --- who asks ----------------------------------------------------------------------------------------------------

SUBJECTS = ("anonymous", "applicant", "other_applicant", "evaluator", "conflicted", "unassigned", "admin",
            "other_admin", "auditor")
LOGIN = "302→login"  # a redirect to the login page
EXCLUDED_ENDPOINTS = {"static", "bootstrap.static"}


def row(*statuses) -> dict[str, object]:
    assert len(statuses) == len(SUBJECTS), statuses
    return dict(zip(SUBJECTS, statuses))


def everyone(status) -> dict[str, object]:
    return row(*[status] * len(SUBJECTS))


NOT_ALLOWED = everyone(405)

# --- what each must get ------------------------------------------------------------------------------------------
# key: (endpoint, method) for the route's usual object, or (endpoint, method, target) for another object of the
# world (see World.params). Columns, in order:
#            anonymous applicant other_appl evaluator conflicted unassigned admin  other_admin auditor

EXPECTED: dict[tuple, dict[str, object]] = {
    # --- public: anyone may read the announced call, its regulations, the diagrams ------------------------------
    ("public.index", "GET"):                                 everyone(200),
    ("public.call", "GET"):                                  everyone(200),
    ("public.call", "GET", "draft"):                         everyone(404),
    ("public.regulations", "GET"):                           everyone(200),
    ("public.regulations", "GET", "draft"):                  everyone(404),
    ("public.calendar", "GET"):                              everyone(200),
    ("public.calendar", "GET", "draft"):                     everyone(404),
    ("public.check_receipt", "GET"):                         everyone(200),
    ("public.workflows", "GET"):                             everyone(200),
    ("public.accessibility", "GET"):                         everyone(200),  # the accessibility statement
    ("public.set_language", "GET"):                          NOT_ALLOWED,
    ("public.set_language", "POST"):                         everyone(302),
    # the operators' health check: public, the same for all; no worker runs in this world, so it says 503
    ("health.healthz", "GET"):                               everyone(503),
    # documents follow their object; a stranger gets 404, never a login redirect that confirms the id exists
    ("public.document", "GET"):                              row(404, 200, 404, 200, 404, 404, 200, 404, 200),
    ("public.document", "GET", "agreement"):                 row(404, 200, 404, 404, 404, 404, 200, 404, 200),
    ("public.document", "GET", "protocol"):                  row(404, 404, 404, 404, 404, 404, 200, 404, 200),
    ("public.document", "GET", "regulations"):               everyone(200),
    # an application's files follow the application: a conflicted evaluator and strangers get 404
    ("public.attachment", "GET"):                            row(404, 200, 404, 200, 404, 404, 200, 404, 200),
    ("public.attachment", "GET", "draft"):                   row(404, 200, 404, 404, 404, 404, 404, 404, 404),
    # --- accounts ------------------------------------------------------------------------------------------------
    ("auth.login", "GET"):                                   everyone(200),
    ("auth.login", "POST"):                                  everyone(200),
    ("auth.register", "GET"):                                row(200, *[302] * (len(SUBJECTS) - 1)),
    ("auth.register", "POST"):                               row(200, *[302] * (len(SUBJECTS) - 1)),
    ("auth.logout", "GET"):                                  NOT_ALLOWED,
    ("auth.logout", "POST"):                                 everyone(302),
    ("auth.registration_sent", "GET"):                       everyone(200),
    ("auth.confirm", "GET"):                                 everyone(200),
    ("auth.confirm", "POST"):                                everyone(302),  # a forged link: back to the login
    ("auth.messages", "GET"):                                row(LOGIN, 200, 200, 200, 200, 200, 200, 200, 200),
    # everything the system holds about the person asking, as a ZIP: anyone logged in, of themselves only
    ("auth.personal_data", "GET"):                           row(LOGIN, 200, 200, 200, 200, 200, 200, 200, 200),
    # one's own choice of e-mail per kind of message; the empty form the walk posts is no choice: 400
    ("auth.message_settings", "GET"):                        row(LOGIN, 200, 200, 200, 200, 200, 200, 200, 200),
    ("auth.message_settings", "POST"):                       row(LOGIN, 400, 400, 400, 400, 400, 400, 400, 400),
    # a forgotten password: anyone may ask (an empty form is refused on its page); a forged link goes back to asking
    ("auth.forgot_password", "GET"):                         everyone(200),
    ("auth.forgot_password", "POST"):                        everyone(200),
    ("auth.reset_password", "GET"):                          everyone(302),
    ("auth.reset_password", "POST"):                         everyone(302),
    # one's own password, whatever the role (an auditor changes nothing of the programme's, but may change this)
    ("auth.change_password", "GET"):                         row(LOGIN, 200, 200, 200, 200, 200, 200, 200, 200),
    ("auth.change_password", "POST"):                        row(LOGIN, 200, 200, 200, 200, 200, 200, 200, 200),
    # an invitation's link: a forged one is refused for everybody, logged in or not
    ("auth.invitation", "GET"):                              everyone(302),
    ("auth.invitation", "POST"):                             everyone(302),
    ("auth.message", "GET"):                                 row(LOGIN, 200, 404, 404, 404, 404, 404, 404, 404),
    ("auth.message", "GET", "accepted"):                     row(LOGIN, 404, 404, 200, 404, 404, 404, 404, 404),
    # "New application to evaluate: <number>" was the conflicted evaluator's before they recused; now it is hidden
    ("auth.message", "GET", "conflicted"):                   row(LOGIN, 404, 404, 404, 404, 404, 404, 404, 404),
    # --- the NGO's pages: applicants only, and only their organisation's applications ------------------------------
    ("applicant.home", "GET"):                               row(LOGIN, 200, 200, 403, 403, 403, 403, 403, 403),
    ("applicant.announcements", "GET"):                      NOT_ALLOWED,
    ("applicant.announcements", "POST"):                     row(LOGIN, 302, 302, 403, 403, 403, 403, 403, 403),
    ("applicant.start", "GET"):                              NOT_ALLOWED,
    ("applicant.start", "POST"):                             row(LOGIN, 302, 302, 403, 403, 403, 403, 403, 403),
    ("applicant.edit", "GET"):                               row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.edit", "POST"):                              row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.edit", "GET", "draft"):                      row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.edit", "POST", "draft"):                     row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    # the guided form's steps and "check your answers": X is submitted (→ its read-only view), F's draft is O's
    ("applicant.step", "GET"):                               row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.step", "POST"):                              row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.step", "GET", "draft"):                      row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.step", "POST", "draft"):                     row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.check", "GET"):                              row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.check", "GET", "draft"):                     row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.submit", "GET"):                             NOT_ALLOWED,
    ("applicant.submit", "POST"):                            row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.receipt", "GET"):                            row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.view", "GET"):                               row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.view", "GET", "grant"):                      row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.timeline", "GET"):                           row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.timeline", "GET", "grant"):                  row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.clarify", "GET"):                            NOT_ALLOWED,
    ("applicant.clarify", "POST"):                           row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.appeal", "GET"):                             NOT_ALLOWED,
    ("applicant.appeal", "POST"):                            row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.action", "GET"):                             NOT_ALLOWED,
    ("applicant.action", "POST"):                            row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    # the agreement (issue 8): Y's is accepted (an empty form is refused: no tick, no file); only O's members
    ("applicant.accept_agreement", "GET"):                   NOT_ALLOWED,
    ("applicant.accept_agreement", "POST"):                  row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.accept_agreement", "POST", "grant"):         row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.upload_signed_agreement", "GET"):            NOT_ALLOWED,
    ("applicant.upload_signed_agreement", "POST"):           row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.upload_signed_agreement", "POST", "grant"):  row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.report", "GET"):                             row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.report", "POST"):                            row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.submit_report", "GET"):                      NOT_ALLOWED,
    ("applicant.submit_report", "POST"):                     row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    # report files: a participant list (restricted) only for admins and auditors, not even the NGO that sent it
    ("applicant.report_upload", "GET"):                      NOT_ALLOWED,
    ("applicant.report_upload", "POST"):                     row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.report_remove_file", "GET"):                 NOT_ALLOWED,
    ("applicant.report_remove_file", "POST"):                row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.report_file", "GET", "report_file"):         row(LOGIN, 404, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.report_file", "GET", "report_photo"):        row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    # the budget table: X's call is a lump sum (→ the draft's page), G's draft is O's, budgeted (an empty form: 400)
    ("applicant.budget", "GET"):                             row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.budget", "POST"):                            row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.budget", "GET", "budgeted"):                 row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.budget", "POST", "budgeted"):                row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    # attachments: X is submitted (read only; an empty upload is refused), F's draft is O's
    ("applicant.attachments", "GET"):                        row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.attachments", "POST"):                       row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.attachments", "GET", "draft"):               row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.attachments", "POST", "draft"):              row(LOGIN, 400, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.remove_attachment", "GET"):                  NOT_ALLOWED,
    ("applicant.remove_attachment", "POST"):                 row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    # the NGO's own organisation: its members only (an empty post changes nothing, and says so)
    ("account.organisation", "GET"):                         row(LOGIN, 200, 200, 403, 403, 403, 403, 403, 403),
    ("account.organisation", "POST"):                        row(LOGIN, 302, 302, 403, 403, 403, 403, 403, 403),
    ("account.invite", "GET"):                               NOT_ALLOWED,
    ("account.invite", "POST"):                              row(LOGIN, 200, 200, 403, 403, 403, 403, 403, 403),
    # --- the evaluator's pages: evaluators only, their own assignments only, never a conflicted one ---------------
    ("evaluator.queue", "GET"):                              row(LOGIN, 403, 403, 200, 200, 200, 403, 403, 403),
    ("evaluator.assignment", "GET"):                         row(LOGIN, 403, 403, 200, 404, 404, 403, 403, 403),
    ("evaluator.assignment", "GET", "recused"):              row(LOGIN, 403, 403, 404, 404, 404, 403, 403, 403),
    ("evaluator.action", "GET"):                             NOT_ALLOWED,
    ("evaluator.action", "POST"):                            row(LOGIN, 403, 403, 400, 404, 404, 403, 403, 403),
    ("evaluator.action", "POST", "recused"):                 row(LOGIN, 403, 403, 404, 404, 404, 403, 403, 403),
    ("evaluator.save", "GET"):                               NOT_ALLOWED,
    ("evaluator.save", "POST"):                              row(LOGIN, 403, 403, 302, 404, 404, 403, 403, 403),
    ("evaluator.submit", "GET"):                             NOT_ALLOWED,
    ("evaluator.submit", "POST"):                            row(LOGIN, 403, 403, 302, 404, 404, 403, 403, 403),
    ("evaluator.consensus_note", "GET"):                     NOT_ALLOWED,
    ("evaluator.consensus_note", "POST"):                    row(LOGIN, 403, 403, 302, 404, 404, 403, 403, 403),
    # --- administration: admins and auditors of the call's organiser read; only its admins act --------------------
    ("admin.calls", "GET"):                                  row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 200),
    ("admin.new_call", "GET"):                               row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 403),
    ("admin.new_call", "POST"):                              row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 403),
    ("admin.call", "GET"):                                   row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call", "GET", "jelgava"):                        row(LOGIN, 403, 403, 403, 403, 403, 404, 200, 404),
    ("admin.edit_call", "GET"):                              row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 302),
    ("admin.edit_call", "POST"):                             row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.edit_call", "GET", "draft"):                     row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.edit_call", "POST", "draft"):                    row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.copy_call", "GET"):                              NOT_ALLOWED,
    ("admin.copy_call", "POST"):                             row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 403),
    ("admin.preview_call", "GET"):                           row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.preview_regulations", "GET"):                    row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call_fire", "GET"):                              NOT_ALLOWED,
    ("admin.call_fire", "POST"):                             row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.call_fire", "POST", "jelgava"):                  row(LOGIN, 403, 403, 403, 403, 403, 404, 302, 403),
    ("admin.add_criterion", "GET"):                          NOT_ALLOWED,
    ("admin.add_criterion", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.add_criterion", "POST", "draft"):                row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.delete_criterion", "GET"):                       NOT_ALLOWED,
    ("admin.delete_criterion", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.add_check", "GET"):                              NOT_ALLOWED,
    ("admin.add_check", "POST"):                             row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.delete_check", "GET"):                           NOT_ALLOWED,
    ("admin.delete_check", "POST"):                          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # cost categories: A is announced (frozen: refused with the reason), D a draft (an empty form: refused)
    ("admin.add_cost_category", "GET"):                      NOT_ALLOWED,
    ("admin.add_cost_category", "POST"):                     row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.add_cost_category", "POST", "draft"):            row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.delete_cost_category", "GET"):                   NOT_ALLOWED,
    ("admin.delete_cost_category", "POST"):                  row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # editing a category: the page is read by the admin and the auditor; A is announced (a save: back, refused)
    ("admin.edit_cost_category", "GET"):                     row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.edit_cost_category", "POST"):                    row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.move_cost_category", "GET"):                     NOT_ALLOWED,
    ("admin.move_cost_category", "POST"):                    row(LOGIN, 403, 403, 403, 403, 403, 400, 404, 403),
    # the call's own questions: A is announced (frozen: back to the call page), D a draft (an empty form is refused)
    ("admin.new_question", "GET"):                           row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 302),
    ("admin.new_question", "POST"):                          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.new_question", "GET", "draft"):                  row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.new_question", "POST", "draft"):                 row(LOGIN, 403, 403, 403, 403, 403, 400, 404, 403),
    ("admin.edit_question", "GET"):                          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 302),
    ("admin.edit_question", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.edit_question", "GET", "draft"):                 row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.edit_question", "POST", "draft"):                row(LOGIN, 403, 403, 403, 403, 403, 400, 404, 403),
    ("admin.delete_question", "GET"):                        NOT_ALLOWED,
    ("admin.delete_question", "POST"):                       row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.move_question", "GET"):                          NOT_ALLOWED,
    ("admin.move_question", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 400, 404, 403),
    ("admin.add_attachment_type", "GET"):                    NOT_ALLOWED,
    ("admin.add_attachment_type", "POST"):                   row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.add_attachment_type", "POST", "draft"):          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.delete_attachment_type", "GET"):                 NOT_ALLOWED,
    ("admin.delete_attachment_type", "POST"):                row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.call_applications", "GET"):                      row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call_applications_csv", "GET"):                  row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.ranking", "GET"):                                row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.protocol_translation", "GET"):                   NOT_ALLOWED,
    ("admin.protocol_translation", "POST"):                  row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.protocol_translation", "POST", "jelgava"):       row(LOGIN, 403, 403, 403, 403, 403, 404, 302, 403),
    ("admin.verification", "GET"):                           row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    # the programme at a glance: a call's dashboard and charts for its admins and auditors; the programme's for
    # programme-level staff only (the admin and the auditor of the world work for one organiser)
    ("admin.call_dashboard", "GET"):                         row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call_dashboard", "GET", "jelgava"):              row(LOGIN, 403, 403, 403, 403, 403, 404, 200, 404),
    ("admin.call_chart", "GET"):                             row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.programme_dashboard", "GET"):                    row(LOGIN, 403, 403, 403, 403, 403, 403, 403, 403),
    ("admin.programme_chart", "GET"):                        row(LOGIN, 403, 403, 403, 403, 403, 403, 403, 403),
    ("admin.verification", "GET", "jelgava"):                row(LOGIN, 403, 403, 403, 403, 403, 404, 200, 404),
    # a call's exports (the applications with every score, as CSV by default): its admins and auditors only
    ("admin.call_export", "GET"):                            row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call_export", "GET", "jelgava"):                 row(LOGIN, 403, 403, 403, 403, 403, 404, 200, 404),
    ("admin.application", "GET"):                            row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.application", "GET", "grant"):                   row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.application_timeline", "GET"):                   row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.application_timeline", "GET", "grant"):          row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.application", "GET", "draft"):                   row(LOGIN, 403, 403, 403, 403, 403, 404, 404, 404),
    ("admin.record_checks", "GET"):                          NOT_ALLOWED,
    ("admin.record_checks", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.request_clarification", "GET"):                  NOT_ALLOWED,
    ("admin.request_clarification", "POST"):                 row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.assign", "GET"):                                 NOT_ALLOWED,
    ("admin.assign", "POST"):                                row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.auto_assign", "GET"):                            NOT_ALLOWED,
    ("admin.auto_assign", "POST"):                           row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.amend_agreement", "GET"):                        NOT_ALLOWED,
    ("admin.amend_agreement", "POST"):                       row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.amend_agreement", "POST", "grant"):              row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.agreement_signature", "GET"):                    row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.application_fire", "GET"):                       NOT_ALLOWED,
    ("admin.application_fire", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.application_fire", "POST", "grant"):             row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.assignment_fire", "GET"):                        NOT_ALLOWED,
    ("admin.assignment_fire", "POST"):                       row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.payment_fire", "GET"):                           NOT_ALLOWED,
    ("admin.payment_fire", "POST"):                          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # the payments due (a page, its CSV) in the visitor's own organisers: another organiser's admin sees its own,
    # empty list; a bank file (SEPA XML) is made of payments the admin may pay (404 for another organiser's), and
    # read again or marked paid by the batch's organiser's staff only
    ("admin.payments", "GET"):                               row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 200),
    ("admin.outbox", "GET"):                                 row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 200),
    ("admin.send_again", "GET"):                             NOT_ALLOWED,
    # X's receipt message was never e-mailed (no mail server): the admin is refused with why, and sent back
    ("admin.send_again", "POST"):                            row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # the account Ogre's grants are paid from: its admins set it (an empty form: 400), its auditor reads it
    ("admin.organiser_bank", "GET"):                         row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.organiser_bank", "POST"):                        row(LOGIN, 403, 403, 403, 403, 403, 400, 404, 403),
    ("admin.payments_csv", "GET"):                           row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 200),
    ("admin.payments_sepa", "GET"):                          NOT_ALLOWED,
    ("admin.payments_sepa", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.payment_batch", "GET"):                          row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.payment_batch_file", "GET"):                     row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.payment_batch_pay", "GET"):                      NOT_ALLOWED,
    ("admin.payment_batch_pay", "POST"):                     row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.payment_batch_discard", "GET"):                  NOT_ALLOWED,
    ("admin.payment_batch_discard", "POST"):                 row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.recovery_fire", "GET"):                          NOT_ALLOWED,
    ("admin.recovery_fire", "POST"):                         row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.report", "GET"):                                 row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.report_file", "GET", "report_file"):             row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.report_shortfall", "GET"):                       NOT_ALLOWED,
    ("admin.report_shortfall", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.report_fire", "GET"):                            NOT_ALLOWED,
    ("admin.report_fire", "POST"):                           row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # the whole call's assignment: a GET computes a proposal and writes nothing; an empty post shows it again
    ("admin.assignment_plan", "GET"):                        row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.assignment_plan", "POST"):                       row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 403),
    ("admin.review_progress", "GET"):                        row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.remind_evaluator", "GET"):                       NOT_ALLOWED,
    ("admin.remind_evaluator", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # the evaluators: the list names no call (a Jelgava admin sees only its own and the common pool's evaluators);
    # E belongs to Ogre and is assigned X, so one evaluator's page is Ogre's; the register is the call's
    ("admin.evaluators", "GET"):                             row(LOGIN, 403, 403, 403, 403, 403, 200, 200, 200),
    ("admin.invite_evaluator", "GET"):                       NOT_ALLOWED,
    ("admin.invite_evaluator", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 302, 403),
    ("admin.evaluator", "GET"):                              row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.resend_invitation", "GET"):                      NOT_ALLOWED,
    ("admin.resend_invitation", "POST"):                     row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.add_affiliation", "GET"):                        NOT_ALLOWED,
    ("admin.add_affiliation", "POST"):                       row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    # the affiliation the address names is another evaluator's: refused for E's page
    ("admin.remove_affiliation", "GET"):                     NOT_ALLOWED,
    ("admin.remove_affiliation", "POST"):                    row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.serve_call", "GET"):                             NOT_ALLOWED,
    ("admin.serve_call", "POST"):                            row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.unserve_call", "GET"):                           NOT_ALLOWED,
    ("admin.unserve_call", "POST"):                          row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.evaluator_active", "GET"):                       NOT_ALLOWED,
    ("admin.evaluator_active", "POST"):                      row(LOGIN, 403, 403, 403, 403, 403, 302, 404, 403),
    ("admin.call_conflicts", "GET"):                         row(LOGIN, 403, 403, 403, 403, 403, 200, 404, 200),
    ("admin.call_conflicts", "GET", "jelgava"):              row(LOGIN, 403, 403, 403, 403, 403, 404, 200, 404),
    # the NGO names a conflicted evaluator: X is in review (refused with the reason), F's draft is O's
    ("applicant.conflicts", "GET"):                          row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.conflicts", "POST"):                         row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.conflicts", "GET", "draft"):                 row(LOGIN, 200, 404, 403, 403, 403, 403, 403, 403),
    ("applicant.conflicts", "POST", "draft"):                row(LOGIN, 302, 404, 403, 403, 403, 403, 403, 403),
    # an invited evaluator's link: a real one shows its form to whoever has it (an empty form is refused on the
    # page); a forged one goes to the login page (which says why), for everybody
    ("auth.evaluator_welcome", "GET"):                       everyone(200),
    ("auth.evaluator_welcome", "POST"):                      everyone(200),
    ("auth.evaluator_welcome", "GET", "forged"):             everyone(LOGIN),
    ("auth.evaluator_welcome", "POST", "forged"):            everyone(LOGIN),
    # --- two-factor sign-in: one's own account (the code step needs a pending sign-in: without one, to the login) -
    ("two_factor.sign_in", "GET"):                           row(LOGIN, *[302] * (len(SUBJECTS) - 1)),
    ("two_factor.sign_in", "POST"):                          row(LOGIN, *[302] * (len(SUBJECTS) - 1)),
    ("two_factor.setup", "GET"):                             row(LOGIN, *[200] * (len(SUBJECTS) - 1)),
    ("two_factor.setup", "POST"):                            row(LOGIN, *[200] * (len(SUBJECTS) - 1)),
    ("two_factor.settings", "GET"):                          row(LOGIN, *[200] * (len(SUBJECTS) - 1)),
    ("two_factor.new_recovery_codes", "GET"):                NOT_ALLOWED,
    ("two_factor.turn_off", "GET"):                          NOT_ALLOWED,
    ("two_factor.new_recovery_codes", "POST"):               row(LOGIN, *[302] * (len(SUBJECTS) - 1)),
    # required for admins and auditors: they may not turn it off
    ("two_factor.turn_off", "POST"):                         row(LOGIN, 302, 302, 302, 302, 302, 403, 403, 403),
}

# POST routes that belong to the visitor's own session, not to the programme's data: anyone may post to them.
SESSION_POSTS = {"public.set_language", "auth.login", "auth.logout", "auth.register", "auth.confirm",
                 "auth.forgot_password", "auth.reset_password", "auth.change_password", "auth.invitation",
                 "auth.evaluator_welcome",
                 "auth.message_settings",  # one's own account, like the password: an auditor may change it too
                 "two_factor.sign_in", "two_factor.setup", "two_factor.new_recovery_codes", "two_factor.turn_off"}
# What a session post writes by design: logout ends every session of its user (a new users.session_version).
SESSION_WRITES = {("auth.logout", "POST"): {"users"}}
# Pages of the auth blueprint that anybody may read: the registration's "check your e-mail" page.
PUBLIC_AUTH_PAGES = {"auth.registration_sent", "auth.forgot_password", "auth.reset_password", "auth.invitation",
                     "auth.evaluator_welcome",
                 "auth.message_settings"}  # one's own account, like the password: an auditor may change it too
# Who may not know that application X exists: its title and number appear in nothing they can GET.
STRANGERS_TO_X = ("anonymous", "other_applicant", "conflicted", "unassigned", "other_admin")

REFUSED = (LOGIN, 403, 404)
ATTACHED_PDF = b"%PDF-1.7\n%% the board's decision\n%%EOF\n"


def _score_sheet(world) -> dict:
    """Every criterion of call A scored (4 points of 5), as the evaluator's sheet posts it."""
    return {f"{field}_{criterion_id}": value for criterion_id in world.criteria_of_a
            for field, value in (("score", "4"), ("comment", "Pamatots vērtējums."))}


def _report_form(world) -> dict:
    """Grant Y's interim report, complete, on top of its current version."""
    report = db.session.get(Report, world.params["main"]["report_id"])
    return {"version": str(report.version), **{k: str(v) for k, v in factories.REPORT_CONTENT.items()}}


def _cancel(_world) -> dict:
    return {"trigger": "cancel", "note": "Konkurss atcelts.", "confirmed": "1"}  # irreversible: as if confirmed


# What a refused visitor posts: what would move the world if the policy let them through (an authorised visitor
# posts an empty form, so the world stays as it is for the next cell). CONTROLS proves these bodies work.
ATTACKS = {
    # a stranger who could set the account would have the grants paid to themselves
    ("admin.organiser_bank", "POST"): lambda w: {"iban": "LV80BANK0000435195001", "town": "Rīga", "country": "LV"},
    ("applicant.attachments", "POST", "draft"): lambda w: {"type_id": "other",
                                                          "file": (io.BytesIO(ATTACHED_PDF), "Valdes lēmums.pdf")},
    ("admin.add_attachment_type", "POST", "draft"): lambda w: {
        "label_lv": "Valdes lēmums", "label_en": "Board decision", "formats": "pdf", "required": "y"},
    ("applicant.action", "POST"): lambda w: {"trigger": "withdraw", "confirm": "y"},
    ("applicant.appeal", "POST"): lambda w: {"grounds": "procedural", "text": "Lūdzam pārskatīt.", "confirm": "y"},
    ("applicant.clarify", "POST"): lambda w: {"answer": "Precizējam budžetu."},
    ("applicant.report", "POST"): _report_form,
    ("applicant.submit_report", "POST"): _report_form,
    ("evaluator.action", "POST"): lambda w: {"trigger": "recuse", "note": "Pazīstu projekta vadītāju."},
    ("evaluator.save", "POST"): _score_sheet,
    ("evaluator.submit", "POST"): lambda w: {**_score_sheet(w), "confirmed": "1"},  # irreversible: confirmed
    ("evaluator.consensus_note", "POST"): lambda w: {"text": "Vienojāmies par kopīgu vērtējumu."},
    ("admin.new_question", "POST", "draft"): lambda w: {
        "kind": "short_text", "step": "questions", "label_lv": "Kā uzzinājāt par konkursu?",
        "label_en": "How did you hear of the call?"},
    ("admin.add_criterion", "POST", "draft"): lambda w: {
        "code": "3.1", "title_lv": "Ilgtspēja", "title_en": "Sustainability", "max_points": "5", "step": "1",
        "weight_percent": "100"},
    ("admin.assign", "POST"): lambda w: {"evaluator_id": str(w.users["unassigned"])},
    ("admin.assignment_fire", "POST"): lambda w: {"trigger": "revoke", "note": "Termiņš nokavēts."},
    ("admin.application_fire", "POST", "grant"): lambda w: {"trigger": "terminate", "note": "Netiek īstenots."},
    ("admin.amend_agreement", "POST", "grant"): lambda w: {"reason": "Precizēts konts."},
    ("admin.call_fire", "POST"): _cancel,
    ("admin.call_fire", "POST", "jelgava"): _cancel,
    ("admin.payment_fire", "POST"): lambda w: {"trigger": "pay", "bank_reference": "REF-77"},
    ("admin.recovery_fire", "POST"): lambda w: {"trigger": "write_off", "note": "Biedrība likvidēta."},
    # (no CONTROLS for these two: the world's one due payment is already in its batch; tests/integration/test_sepa.py
    # has the admin's same requests succeed)
    ("admin.payments_sepa", "POST"): lambda w: {"payment_ids": str(w.params["main"]["payment_id"])},
    ("admin.payment_batch_pay", "POST"): lambda w: {"bank_reference": "REF-88"},
    ("admin.payment_batch_discard", "POST"): lambda w: {"reason": "Konts nav atrasts.", "confirm": "y"},
    ("admin.report_fire", "POST"): lambda w: {"trigger": "approve"},
    ("applicant.report_upload", "POST"): lambda w: {"kind": "publicity",
                                                    "file": (io.BytesIO(ATTACHED_PDF), "publicitāte.pdf")},
    ("admin.report_shortfall", "POST"): lambda w: {"how": "recovery", "amount": "10,00",
                                                   "reason": "Sasniegts mazāk dalībnieku."},
    ("admin.remind_evaluator", "POST"): lambda w: {"evaluator_id": str(w.users["evaluator"])},
    ("account.organisation", "POST"): lambda w: {"name": "Biedrība „Pārņemtā”", "legal_form": "biedriba",
                                                  "iban": factories.IBAN, "email": "parnemta@example.lv",
                                                  "address": "Citur 1"},
    ("account.invite", "POST"): lambda w: {"invitee_name": "Ieva Svešā", "invitee_email": "ieva@svesa.example.lv"},
    ("applicant.conflicts", "POST", "draft"): lambda w: {"evaluator_id": str(w.users["unassigned"]),
                                                         "reason": "Vērtētājs ir mūsu valdes loceklis."},
    ("admin.invite_evaluator", "POST"): lambda w: {"name": "Ieva Svešā", "email": "ieva@eksperti.example.lv"},
    ("admin.add_affiliation", "POST"): lambda w: {"kind": "domain", "domain": "lu.lv"},
    ("admin.serve_call", "POST"): lambda w: {"call_id": str(w.params["main"]["call_id"])},
    ("admin.evaluator_active", "POST"): lambda w: {"action": "deactivate"},
}
# After the walk, in this order, the authorised visitor posts the attack body: the table named must change, so the
# refusals above were the policy's doing and not a typo in a form. (Each step leaves the world ready for the next.)
CONTROLS = [
    (("admin.organiser_bank", "POST"), "admin", "organisers"),
    (("admin.remind_evaluator", "POST"), "admin", "messages"),  # first: E's review is still to do
    (("applicant.attachments", "POST", "draft"), "applicant", "application_files"),
    (("admin.add_attachment_type", "POST", "draft"), "admin", "attachment_types"),
    (("evaluator.save", "POST"), "evaluator", "scores"),
    (("evaluator.submit", "POST"), "evaluator", "assignments"),
    (("admin.assign", "POST"), "admin", "assignments"),
    (("admin.payment_fire", "POST"), "admin", "payments"),
    (("admin.recovery_fire", "POST"), "admin", "recoveries"),
    (("applicant.report_upload", "POST"), "applicant", "attachments"),  # while the report is a draft
    (("applicant.report", "POST"), "applicant", "reports"),
    (("applicant.submit_report", "POST"), "applicant", "reports"),
    (("admin.report_fire", "POST"), "admin", "reports"),
    (("admin.report_shortfall", "POST"), "admin", "recoveries"),  # after approve: on a submitted report
    (("admin.add_criterion", "POST", "draft"), "admin", "criteria"),
    (("admin.new_question", "POST", "draft"), "admin", "call_questions"),
    (("admin.amend_agreement", "POST", "grant"), "admin", "agreement_versions"),  # before Y is terminated
    (("admin.application_fire", "POST", "grant"), "admin", "applications"),
    (("applicant.action", "POST"), "applicant", "applications"),
    (("admin.call_fire", "POST"), "admin", "calls"),
    (("account.organisation", "POST"), "applicant", "organisations"),
    (("account.invite", "POST"), "applicant", "invitations"),
    # the evaluator pool's: last, in this order (E serves only A, then can no longer log in)
    (("applicant.conflicts", "POST", "draft"), "applicant", "conflicts"),
    (("admin.invite_evaluator", "POST"), "admin", "users"),
    (("admin.add_affiliation", "POST"), "admin", "evaluator_affiliations"),
    (("admin.serve_call", "POST"), "admin", "call_evaluators"),
    (("admin.evaluator_active", "POST"), "admin", "users"),
]


# --- the world ---------------------------------------------------------------------------------------------------

X_TITLE = "Slepenā jauniešu darbnīca Ogrē"
X_PREFIX = "OGRE-SLEPENS"


@dataclass
class World:
    users: dict[str, int]
    x_title: str
    x_number: str
    criteria_of_a: list[int]
    evaluator_name: str = ""
    params: dict[str, dict[str, object]] = field(default_factory=dict)  # target → URL argument values


def act(entity, trigger: str, actor, note: str | None = None) -> None:
    fire(entity, trigger, actor, note)
    db.session.commit()


def build_world() -> World:
    f = factories
    ogre, jelgava = f.make_organiser("Ogres novada pašvaldība"), f.make_organiser("Jelgavas novada pašvaldība")
    admin, other_admin = f.make_organiser_admin(ogre), f.make_organiser_admin(jelgava)
    auditor = f.make_user("auditor", organiser=ogre)
    overseer = f.make_user("auditor", programme_level=True)  # not a subject: what only programme-level staff reach
    organisation = f.make_organisation("Biedrība „Ogres jaunieši”")
    applicant = f.make_user("applicant", organisation=organisation)
    other_applicant = f.make_user("applicant")

    # call B: a grant contracted (Y) and a grant terminated after a paid tranche (Z), in reporting
    call_b = f.make_call(state="announced", when="past", organiser=ogre, admin=admin, projects=3,
                         max_applications_per_organisation=2)
    grant, terminated = f.make_applications(call_b, ["contracted", "contracted"], organisation=organisation)
    f.make_payment("paid", application=terminated)
    act(terminated, "terminate", admin, "Projekts netiek īstenots.")
    f.advance_call(call_b, "reporting")
    report = db.session.scalars(select(Report).where(Report.application_id == grant.id).order_by(Report.id)).first()
    act(report, "allow_early", admin, "Īstenošana sākās agrāk.")  # its period begins tomorrow: submit is possible
    participant_list = reporting.upload(report, applicant, "participant_list", "Dalībnieki.pdf", ATTACHED_PDF)
    photo = reporting.upload(report, applicant, "publicity", "Afiša.pdf", ATTACHED_PDF)
    db.session.commit()
    payment = db.session.scalars(select(Payment).where(Payment.application_id == grant.id)
                                 .order_by(Payment.id)).first()
    recovery = db.session.scalars(select(Recovery).where(Recovery.application_id == terminated.id)).one()
    protocol = db.session.scalars(select(RankingProtocol).where(RankingProtocol.call_id == call_b.id)).first()
    ogre.bank_iban, ogre.address_town = "LV60PARX0002484470001", "Ogre"  # the debtor of its bank files
    batch = payment_batches.issue(admin, [payment.id])  # Y's first tranche in a SEPA file
    signed_copy = AgreementSignature(  # a signed copy of Y's agreement O uploaded (its check found no signature)
        application_id=grant.id, version_id=agreements.current_version(grant).id, uploaded_by=applicant.id,
        original_name="ligums.pdf", format="pdf", size=len(ATTACHED_PDF), content=ATTACHED_PDF,
        sha256=hashlib.sha256(ATTACHED_PDF).hexdigest(), intact=False, issued_document=False,
        findings=[["no_signature", ""]], accepted=False, trust_checked=False)
    db.session.add(signed_copy)
    db.session.commit()

    # call A: application X in review; E accepted it, C recused (a conflict recorded), a replacement assigned
    call_a = f.make_call(state="announced", when="past", organiser=ogre, admin=admin, number_prefix=X_PREFIX)
    x = f.make_application(call_a, "in_review", organisation=organisation, title=X_TITLE)
    evaluator, conflicted = f.make_user("evaluator", organisers=[ogre]), f.make_user("evaluator")
    accepted = evaluation.assign(x, evaluator, admin)
    recused = evaluation.assign(x, conflicted, admin)
    db.session.commit()
    act(accepted, "declare_no_conflict", evaluator)
    act(recused, "recuse", conflicted, "Pazīstu projekta vadītāju.")
    unassigned = f.make_user("evaluator")  # made after the replacement was chosen, so it stays unassigned
    others_tie = EvaluatorAffiliation(evaluator_id=unassigned.id, kind="text", text="Cits darbs")
    invited = User(email="uzaicinata@eksperti.example.com", name="Uzaicināta Vērtētāja", role="evaluator",
                   password_hash="-", unconfirmed_since=clock.now())  # invited, no password set yet
    db.session.add_all([others_tie, invited])
    db.session.commit()
    welcome_token = serializer(evaluators.SALT).dumps({"user": invited.id, "password": _fingerprint("-")})

    call_d = f.make_call(state="draft", organiser=ogre, admin=admin)
    call_f = f.make_call(state="open", organiser=ogre, admin=admin)
    draft = f.make_application(call_f, "draft", organisation=organisation)
    # files: one frozen with X (as if attached before it was submitted), one on F's draft; a type asked by A
    x_file, draft_file = (ApplicationFile(application_id=app.id, filename="lēmums.pdf", original_name="lēmums.pdf",
                                          format="pdf", content_type="application/pdf", size=len(ATTACHED_PDF),
                                          sha256=hashlib.sha256(ATTACHED_PDF).hexdigest(), content=ATTACHED_PDF,
                                          uploaded_by=applicant.id) for app in (x, draft))
    a_type = AttachmentType(call_id=call_a.id, label_lv="Valdes lēmums", label_en="Board decision", formats=["pdf"],
                            required=False)
    db.session.add_all([x_file, draft_file, a_type])
    # a question of A's own (as if added before it was announced) and one of draft D's
    a_question = Question(call_id=call_a.id, key="q1", position=0, kind="yes_no", step="questions", required=False,
                          label_lv="Vai sadarbojaties ar skolu?", label_en="Do you work with a school?", options=[])
    d_question = Question(call_id=call_d.id, key="q1", position=0, kind="short_text", step="questions",
                          required=True, label_lv="Kura skola?", label_en="Which school?", options=[])
    db.session.add_all([a_question, d_question])
    db.session.commit()
    call_j = f.make_call(state="open", organiser=jelgava, admin=other_admin)
    call_g = f.make_call(state="open", funding="budgeted", organiser=ogre, admin=admin)
    budgeted_draft = f.make_application(call_g, "draft", organisation=organisation)
    frozen_category = CostCategory(call_id=call_a.id, position=0, code="administration", label_lv="Administrācija",
                                   label_en="Administration", cap_percent=10)  # as if A were budgeted
    db.session.add(frozen_category)
    db.session.flush()

    for document in db.session.scalars(select(Document)):  # rendered now, so that no GET in the walk writes
        jobs.ensure_rendered(document)
    db.session.commit()

    def message_of(user, **where):
        query = select(Message.id).where(Message.user_id == user.id).order_by(Message.id)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        found = db.session.scalars(query).first()
        assert found is not None, f"no message for {user.email} {where}"
        return found

    db.session.refresh(x)
    db.session.refresh(grant)
    main = {
        "code": call_a.code, "call_id": call_a.id, "app_id": x.id, "application_id": x.id,
        "assignment_id": accepted.id, "report_id": report.id, "payment_id": payment.id, "recovery_id": recovery.id,
        "batch_id": batch.id,
        "criterion_id": db.session.scalars(select(Criterion.id).where(Criterion.call_id == call_a.id)).first(),
        "check_id": db.session.scalars(select(Check.id).where(Check.call_id == call_a.id)).first(),
        "document_id": x.receipt_document_id,
        "message_id": message_of(applicant, entity_type="application", entity_id=x.id),
        "token": "a-forged-registration-link",
        "category_id": frozen_category.id,
        "file_id": x_file.id, "type_id": a_type.id, "question_id": a_question.id, "signature_id": signed_copy.id,
        "step": "project",
        "evaluator_id": evaluator.id, "affiliation_id": others_tie.id, "welcome_token": welcome_token,
        "chart": "money", "fmt": "svg", "organiser_id": ogre.id,
    }
    params = {
        "main": main,
        "draft": {"code": call_d.code, "call_id": call_d.id, "app_id": draft.id, "application_id": draft.id,
                  "file_id": draft_file.id, "question_id": d_question.id},
        "grant": {"app_id": grant.id, "application_id": grant.id, "signature_id": signed_copy.id},
        "budgeted": {"app_id": budgeted_draft.id, "call_id": call_g.id},
        "recused": {"assignment_id": recused.id},
        "jelgava": {"call_id": call_j.id, "code": call_j.code},
        "agreement": {"document_id": grant.agreement_document_id},
        "protocol": {"document_id": protocol.document_id},
        "regulations": {"document_id": call_a.regulations_document_id},
        "accepted": {"message_id": message_of(evaluator, entity_type="assignment", entity_id=accepted.id)},
        "conflicted": {"message_id": message_of(conflicted, entity_type="assignment", entity_id=recused.id)},
        "forged": {"welcome_token": "a-forged-invitation-link"},
        "report_file": {"report_id": report.id, "file_id": participant_list.id},
        "report_photo": {"report_id": report.id, "file_id": photo.id},
    }
    for target, values in params.items():
        assert all(v is not None for v in values.values()), (target, values)
    users = {"applicant": applicant, "other_applicant": other_applicant, "evaluator": evaluator,
             "conflicted": conflicted, "unassigned": unassigned, "admin": admin, "other_admin": other_admin,
             "auditor": auditor, "programme": overseer}
    criteria = list(db.session.scalars(select(Criterion.id).where(Criterion.call_id == call_a.id)
                                       .order_by(Criterion.id)))
    return World(users={k: u.id for k, u in users.items()}, x_title=x.title, x_number=x.number,
                 criteria_of_a=criteria, params=params, evaluator_name=evaluator.name)


# --- the database, as rows -----------------------------------------------------------------------------------------

def snapshot() -> dict[str, object]:
    """Every row of every table, in primary-key order (the world is small): on PostgreSQL as text, in one round
    trip; on SQLite as the driver's tuples."""
    db.session.rollback()  # the test's own session holds nothing open: see what the requests committed
    tables = [(t.name, ", ".join(f't."{c.name}"' for c in t.primary_key.columns)) for t in db.metadata.sorted_tables]
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            statement = " UNION ALL ".join(
                f"SELECT '{name}', (SELECT string_agg(t::text, E'\\n' ORDER BY {order}) FROM \"{name}\" t)"
                for name, order in tables)
            rows = dict(connection.exec_driver_sql(statement).all())
        else:
            rows = {name: connection.exec_driver_sql(f'SELECT * FROM "{name}" t ORDER BY {order}').all()
                    for name, order in tables}
        connection.rollback()
    return rows


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- the walk ----------------------------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    location: str
    body: str
    changed: list[str]  # tables whose rows differ after the request (POSTs)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Walk:
    world: World
    rules: dict[tuple[str, str], str]  # (endpoint, method) → rule, of every route the app registers
    answers: dict[tuple, dict[str, Answer]]  # EXPECTED's key → subject → answer
    gets_changed: list[str]
    seconds: float
    controls: dict[tuple, Answer]  # CONTROLS' key → the authorised visitor's answer to the attack body


def registered_routes(flask_app) -> dict[tuple[str, str], str]:
    """(endpoint, method) of every route but the static files: GET for each, POST where it takes POST."""
    found = {}
    for rule in flask_app.url_map.iter_rules():
        if rule.endpoint in EXCLUDED_ENDPOINTS:
            continue
        found[(rule.endpoint, "GET")] = rule.rule
        if "POST" in rule.methods:
            found[(rule.endpoint, "POST")] = rule.rule
    return found


def url_of(flask_app, world: World, endpoint: str, target: str) -> str:
    rule = next(r for r in flask_app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: world.params[target].get(name, world.params["main"].get(name)) for name in rule.arguments}
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"the world has no {missing} for {endpoint} ({target})"
    with flask_app.test_request_context():
        return url_for(endpoint, **values)


def become(client, user_id: int | None) -> None:
    """The client's next requests are this user's (Flask-Login's session keys), or anonymous ones."""
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:  # the user's current session id (logout ends the ones before: a new version)
            session["_user_id"] = db.session.get(User, user_id, populate_existing=True).get_id()
            session["_fresh"] = True
            session["two_factor_passed"] = user_id  # its second step passed (app/views/two_factor.py, as login_as)


def target_of(key: tuple) -> str:
    return key[2] if len(key) > 2 else "main"


def walk(flask_app, world: World) -> Walk:
    started = time.perf_counter()
    clients = {}
    for subject in SUBJECTS:  # one browser per visitor, logged in once (again after a session route)
        clients[subject] = flask_app.test_client()
        become(clients[subject], world.users.get(subject))

    def ask(key, subject, body=None) -> Answer:
        endpoint, method = key[0], key[1]
        response = clients[subject].open(url_of(flask_app, world, endpoint, target_of(key)), method=method,
                                         data=body if method == "POST" else None)
        if endpoint in SESSION_POSTS:
            become(clients[subject], world.users.get(subject))
        # a binary answer (a ZIP, a PNG) is read as text with its undecodable bytes replaced
        return Answer(response.status_code, response.headers.get("Location", ""),
                      response.get_data().decode("utf-8", "replace"), [], dict(response.headers))

    answers: dict[tuple, dict[str, Answer]] = {}
    rules = registered_routes(flask_app)
    keys = sorted((k for k in EXPECTED if k[:2] in rules),  # a stale row is reported by its own test
                  key=lambda k: (k[1] != "GET", k))  # every GET first, then the POSTs
    before_gets = snapshot()
    gets_changed: list[str] = []
    state = None
    for key in keys:
        if key[1] == "POST" and state is None:
            state = snapshot()
            gets_changed = changed_tables(before_gets, state)
        answers[key] = {}
        for subject in SUBJECTS:
            refused = EXPECTED[key][subject] in REFUSED
            body = ATTACKS[key](world) if key in ATTACKS and refused else {}
            answer = answers[key][subject] = ask(key, subject, body)
            if key[1] == "POST":
                after = snapshot()
                answer.changed = changed_tables(state, after)
                state = after

    controls = {}
    for key, subject, _table in CONTROLS:
        answer = controls[key] = ask(key, subject, ATTACKS[key](world))
        after = snapshot()
        answer.changed = changed_tables(state, after)
        state = after
    return Walk(world, rules, answers, gets_changed, time.perf_counter() - started, controls)


# --- one world per backend, walked once ----------------------------------------------------------------------------

@contextmanager
def database(backend: str, tmp_path_factory):
    if backend == "postgres":
        with postgres_schema("authz") as url:
            migrate_to_head(url, tmp_path_factory.mktemp("authz-pg-uploads"))
            yield url
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('authz') / 'grants.sqlite'}"
        migrate_to_head(url, tmp_path_factory.mktemp("authz-migrate-uploads"))
        yield url


def _no_fsync(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA synchronous=OFF")


@pytest.fixture(scope="module", params=BACKENDS)
def walked(request, tmp_path_factory):
    from app import documents

    with database(request.param, tmp_path_factory) as url, pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "render", lambda kind, context, language: STUB_PDF)
        flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER="", MAIL_PORT=25,
                               UPLOAD_DIR=str(tmp_path_factory.mktemp("authz-uploads")))
        flask_app.test_client_class = IsolatedClient
        context = flask_app.app_context()
        context.push()
        try:
            if url.startswith("sqlite"):
                event.listen(db.engine, "connect", _no_fsync)
            world = build_world()
            yield walk(flask_app, world)
        finally:
            db.session.remove()
            db.engine.dispose()
            context.pop()


def _label(key: tuple) -> str:
    return f"{key[1]} {key[0]}" + (f" [{key[2]}]" if len(key) > 2 else "")


# --- the table itself --------------------------------------------------------------------------------------------

def test_every_route_has_its_rows(walked):
    """A new route fails here until its rows are written; a row for a route that is gone fails too."""
    assert_every_route_has_its_rows(walked.rules)


def assert_every_route_has_its_rows(rules: dict[tuple[str, str], str]) -> None:
    covered = {key[:2] for key in EXPECTED}
    missing = sorted(set(rules) - covered)
    stale = sorted(covered - set(rules))
    assert not missing, (
        f"{len(missing)} route(s) without rows in EXPECTED of tests/security/test_authorization_matrix.py. Add to "
        "EXPECTED, next to the rows of its blueprint, one line per route and method, with the status each visitor "
        f"must get, in the order {', '.join(SUBJECTS)} (200, 302, LOGIN, 400, 403, 404; NOT_ALLOWED for a GET on a "
        "POST-only route); a route whose address names an object the world lacks also needs it in "
        "World.params (build_world). Then tests/security/test_bad_requests.py probes it and checks its CSRF by "
        "itself:\n" + "\n".join(
            f'    ("{e}", "{m}"): row(...),  # {m} {rules[(e, m)]}' for e, m in missing))
    assert not stale, ("rows in EXPECTED of tests/security/test_authorization_matrix.py for routes that no longer "
                       f"exist; remove them: {stale}")


def test_every_route_takes_only_get_and_post(tmp_path):
    """The matrix, the CSRF suite and the probes ask GET and POST: a route that takes PUT, PATCH or DELETE would
    escape all three."""
    flask_app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", UPLOAD_DIR=str(tmp_path))
    others = sorted(f"{rule.endpoint} ({rule.rule}): {sorted(set(rule.methods) - {'GET', 'HEAD', 'OPTIONS', 'POST'})}"
                    for rule in flask_app.url_map.iter_rules()
                    if set(rule.methods) - {"GET", "HEAD", "OPTIONS", "POST"})
    assert not others, ("routes taking methods the security suites never ask (use a POST form instead, or teach "
                        "tests/security/test_authorization_matrix.py's walk the method): " + "; ".join(others))


def test_the_table_keeps_the_design_rules():
    """The rules of DESIGN 1 and 3, read off the table (the walk proves the app follows the table)."""
    for key, statuses in EXPECTED.items():
        endpoint, method = key[0], key[1]
        assert set(statuses) == set(SUBJECTS), key
        if (statuses == NOT_ALLOWED or endpoint.split(".")[0] in ("public",) or endpoint in SESSION_POSTS
                or endpoint in PUBLIC_AUTH_PAGES):
            continue
        if endpoint.split(".")[0] in ("auth", "applicant", "evaluator", "admin"):
            assert statuses["anonymous"] == LOGIN, f"{_label(key)}: anonymous must be sent to log in"
        if method == "POST":
            assert statuses["auditor"] == 403, f"{_label(key)}: an auditor changes nothing"
        # the list, a new call and a copy of one name no call in the address (a copy's source is checked against
        # the admin's own calls)
        if (endpoint.startswith("admin.") and "jelgava" not in key
                and endpoint not in ("admin.calls", "admin.new_call", "admin.copy_call", "admin.evaluators",
                                     "admin.invite_evaluator", "admin.programme_dashboard", "admin.programme_chart",
                                     "admin.payments", "admin.payments_csv",  # the payments due: the visitor's own
                                     "admin.outbox")):  # the e-mails about the visitor's own calls
            assert statuses["other_admin"] == 404, f"{_label(key)}: a Jelgava admin never touches an Ogre call"
        if (endpoint.startswith(("admin.", "applicant.", "evaluator.")) and endpoint != "evaluator.queue"
                and statuses["conflicted"] not in (403, LOGIN)):
            assert statuses["conflicted"] == 404, f"{_label(key)}: a conflicted evaluator sees nothing of X"


# --- the app follows the table -----------------------------------------------------------------------------------

def test_every_visitor_gets_the_expected_status(walked):
    wrong = []
    for key, by_subject in walked.answers.items():
        for subject, answer in by_subject.items():
            expected = EXPECTED[key][subject]
            to_login = answer.status == 302 and urlsplit(answer.location).path == "/login"
            got = LOGIN if to_login else answer.status
            if got != expected:
                wrong.append(f"{_label(key):55} {subject:16} expected {expected}, got {got} {answer.location}")
    cells = sum(len(s) for s in EXPECTED.values())
    assert not wrong, f"{len(wrong)} of {cells} cells differ:\n" + "\n".join(wrong)


def test_refused_posts_change_nothing(walked):
    """No new audit event, no state moved, no row written: for a refused visitor and (the form being empty) for
    an authorised one alike. The table sets rows for every table in the database."""
    changed = [f"{_label(key):55} {subject:16} changed {answer.changed}"
               for key, by_subject in walked.answers.items() if key[1] == "POST"
               for subject, answer in by_subject.items()
               if set(answer.changed) - SESSION_WRITES.get(key[:2], set())]
    assert not changed, "\n".join(changed)


def test_the_attacks_would_have_worked(walked):
    """The same bodies, posted afterwards by the visitor who may, do move the world: the refusals were real."""
    for key, subject, table in CONTROLS:
        answer = walked.controls[key]
        assert answer.status in (200, 302) and "/login" not in answer.location, (_label(key), answer.status)
        assert table in answer.changed, f"{_label(key)} as {subject} changed {answer.changed}, not {table}"
    assert {key for key, _subject, _table in CONTROLS} <= set(ATTACKS)


# What a GET writes by design: every download of a report's file is logged (app/services/reporting.py).
GET_LOGS = {"attachment_downloads"}


def test_gets_never_write(walked):
    wrote = [t for t in walked.gets_changed if t not in GET_LOGS]
    assert wrote == [], f"GET requests wrote to {wrote}"


def test_anonymous_posts_go_to_the_login_page(walked):
    for key, by_subject in walked.answers.items():
        if key[1] == "POST" and key[0] not in SESSION_POSTS:
            answer = by_subject["anonymous"]
            assert answer.status == 302 and urlsplit(answer.location).path == "/login", _label(key)


def test_auditor_posts_are_refused(walked):
    for key, by_subject in walked.answers.items():
        if key[1] == "POST" and key[0] not in SESSION_POSTS:
            assert by_subject["auditor"].status == 403, _label(key)


def test_jelgava_admin_never_touches_an_ogre_call(walked):
    for key, by_subject in walked.answers.items():
        endpoint = key[0]
        ogre_object = "jelgava" not in key and endpoint not in ("admin.calls", "admin.new_call", "admin.copy_call",
                                                                "admin.evaluators", "admin.invite_evaluator",
                                                                "admin.programme_dashboard", "admin.programme_chart",
                                                                "admin.payments", "admin.payments_csv",
                                                                "admin.outbox")  # the visitor's own calls' e-mails
        if endpoint.startswith("admin.") and ogre_object and by_subject["admin"].status != 405:
            assert by_subject["other_admin"].status == 404, _label(key)
    for key in (("admin.payments", "GET"), ("admin.payments_csv", "GET")):  # Ogre's payment due, in Ogre's list only
        assert "Ogres jaunieši" in walked.answers[key]["admin"].body, key
        assert "Ogres jaunieši" not in walked.answers[key]["other_admin"].body, key
    ogre_pages = walked.answers[("admin.calls", "GET")]["other_admin"].body
    assert walked.world.x_title not in ogre_pages
    evaluators = walked.answers[("admin.evaluators", "GET")]  # Ogre's evaluator E is not in Jelgava's list
    assert walked.world.evaluator_name in evaluators["admin"].body
    assert walked.world.evaluator_name not in evaluators["other_admin"].body


def test_strangers_never_see_the_application(walked):
    """No leak: the title and number of X appear in no answer to anyone who may not know X, whatever the route
    (the queue, the messages, the documents, the lists, the error pages)."""
    title, number = walked.world.x_title, walked.world.x_number
    leaks = [f"{_label(key):55} {subject:16} {answer.status}: "
             + ", ".join(word for word in (title, number) if word in answer.body)
             for key, by_subject in walked.answers.items()
             for subject in STRANGERS_TO_X
             for answer in [by_subject[subject]]
             if title in answer.body or number in answer.body]
    assert not leaks, "\n".join(leaks)


def test_the_conflicted_evaluator_reads_their_pages_but_nothing_of_x(walked):
    """The pages the conflicted evaluator can open do open (the check above is not vacuous)."""
    answers = walked.answers
    for key in [("evaluator.queue", "GET"), ("auth.messages", "GET"), ("public.document", "GET", "regulations")]:
        assert answers[key]["conflicted"].status == 200, key
    assert "conflicted" in answers[("evaluator.queue", "GET")]["conflicted"].body  # the row is there, blank
    # the message that named X when it was assigned is gone from the list and from its own address
    assert answers[("auth.message", "GET", "conflicted")]["conflicted"].status == 404
    # and the evaluator who accepted X does see it, where the conflicted one does not
    assert walked.world.x_title in answers[("evaluator.assignment", "GET")]["evaluator"].body


def test_every_answer_carries_the_security_headers(walked):
    """Whoever asks and whatever the answer (page, redirect, PDF, 403, 404, 405): a CSP that allows no inline
    script and no framing, and no MIME sniffing; no HTML answer contains an inline script."""
    from tests.security.test_security_headers import csp_directives, inline_scripts

    pages = {}
    for key, by_subject in walked.answers.items():
        for subject, answer in by_subject.items():
            csp = csp_directives(answer.headers.get("Content-Security-Policy", ""))
            assert csp.get("script-src") == ["'self'"] and csp.get("frame-ancestors") == ["'none'"], (key, subject)
            assert answer.headers.get("X-Content-Type-Options") == "nosniff", (key, subject)
            if answer.headers.get("Content-Type", "").startswith("text/html"):
                pages.setdefault(answer.body, (key, subject))
    suspect = re.compile(r"<script(?![^>]*\ssrc=)|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    for body, (key, subject) in pages.items():  # each distinct page once, parsed when a quick look finds a suspect
        if suspect.search(body):
            assert inline_scripts(body) == [], (key, subject)


def test_every_cell_was_asked(walked):
    cells = sum(len(s) for s in walked.answers.values())
    assert cells == len(EXPECTED) * len(SUBJECTS)
    print(f"{cells} cells walked in {walked.seconds:.1f} s")
