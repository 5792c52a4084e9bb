"""权重调优 (admin): sliders with a live preview, save, history, rollback, and weights learned on request."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Header, Path, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import SessionDep, StateDep, WeightsDep
from api.services import weight_learning
from api.services import weights as weights_service
from api.services.write import Invalid
from api.web.admin_forms import PostedForm, china_time
from api.web.session import AdminPage, CsrfChecked
from api.web.templating import render
from api.web.weights_view import (
    FIELDS,
    STAGE_CHOICES,
    LearnedView,
    PreviewView,
    history_views,
    learned_view,
    preview_view,
    slider_groups,
)
from matcher.weights import Weights
from models.lead import OutcomeStage
from models.row_errors import describe
from models.weights_version import WeightsVersion

router = APIRouter(include_in_schema=False)
SAMPLES = (10, 20, 50)
"""How many firms a preview may compare (the first by id); the smallest answers fastest."""
REASON = TypeAdapter(weights_service.Reason)


# ---- reading the form ------------------------------------------------------------------------


def read_weights(form: FormData) -> tuple[Weights | None, list[str]]:
    """The weights of a submitted form, or None and a message per bad weight."""
    values: dict[str, float] = {}
    errors = []
    for name in FIELDS:
        text = form.get(name)
        text = text.strip() if isinstance(text, str) else ""
        try:
            number = float(text)
        except ValueError:
            errors.append(f"{Weights.label(name)}：应为 0–1 之间的数字，实际为「{text[:40]}」")
            continue
        if not (math.isfinite(number) and 0.0 <= number <= 1.0):
            errors.append(f"{Weights.label(name)}：应在 0–1 之间，实际为 {text[:40]}")
            continue
        values[name] = number
    return (Weights(**values) if not errors else None), errors


def read_reason(form: FormData) -> tuple[str, str | None]:
    """The submitted reason and, when it is not acceptable, why (in Chinese)."""
    reason = form.get("reason")
    reason = reason if isinstance(reason, str) else ""
    try:
        REASON.validate_python(reason)
    except ValidationError as exc:
        return reason, f"修改原因：{describe(exc.errors()[0])[1]}"
    return reason, None


def read_int(form: FormData, name: str, default: int) -> int:
    """A whole number from the form, or the default when it is missing or not a number."""
    text = form.get(name)
    try:
        return int(text) if isinstance(text, str) else default
    except ValueError:
        return default


def read_sample(form: FormData) -> int:
    """How many firms to preview: one of the offered sizes."""
    sample = read_int(form, "sample", SAMPLES[0])
    return sample if sample in SAMPLES else SAMPLES[0]


@dataclass
class Learning:
    """The learning form as submitted, and what asking gave: a proposal, or why there is none."""

    stage: OutcomeStage = OutcomeStage.visited
    split: str = ""
    problem: str | None = None
    proposal: LearnedView | None = None


def read_learning(form: FormData) -> tuple[Learning, date | None]:
    """The learning form's target stage and split date (None: the service picks one); bad ones are named."""
    stage, split = form.get("stage"), form.get("split")
    learning = Learning(split=split.strip() if isinstance(split, str) else "")
    problems = []
    try:
        learning.stage = OutcomeStage.parse(stage if isinstance(stage, str) else "")
    except ValueError:
        choices = "或".join(f"「{choice.label}」" for choice in OutcomeStage)
        problems.append(f"目标阶段：应为{choices}")
    when = None
    try:
        when = date.fromisoformat(learning.split) if learning.split else None
    except ValueError:
        problems.append(f"切分日期：应为 2026-06-01 这样的日期，实际为「{learning.split[:40]}」")
    learning.problem = "；".join(problems) or None
    return learning, when


# ---- pages -----------------------------------------------------------------------------------


@dataclass
class PageState:
    """What the weights page shows besides the current version: the form's values and messages."""

    values: Weights | None = None
    reason: str = ""
    sample: int = SAMPLES[0]
    expected_version: int | None = None
    message: str | None = None
    problem: str | None = None
    errors: list[str] = field(default_factory=list)
    preview: PreviewView | None = None
    learning: Learning = field(default_factory=Learning)


def weights_page(request: Request, session: Session, page: PageState, status_code: int = 200) -> Response:
    """Render the weights page: sliders (with the admin's values if given), preview, history."""
    latest = weights_service.current(session)
    current = Weights.model_validate(latest.weights)
    context = {
        "current": latest,
        "current_when": china_time(latest.created_at),
        "groups": slider_groups(page.values or current, current),
        "samples": SAMPLES,
        "stages": STAGE_CHOICES,
        "page": page,
        "expected_version": page.expected_version or latest.version,
        "history": history_views(session),
    }
    return render(request, "weights.html", context, status_code=status_code)


def _announcement(session: Session, saved: int | None, rolled: int | None) -> str | None:
    """The message after a save or a rollback redirected here."""
    number = saved or rolled
    row = session.get(WeightsVersion, number) if number else None
    if row is None:
        return None
    if rolled and row.restored_from:
        return (
            f"已回滚：版本 {row.restored_from} 的权重已恢复，并保存为新版本 {row.version}，推荐结果立即生效。"
        )
    return f"已保存为版本 {row.version}，推荐结果立即生效。"


@router.get("/admin/weights")
def show_weights(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    saved: Annotated[int | None, Query(ge=1, le=weights_service.MAX_VERSION)] = None,
    rolled: Annotated[int | None, Query(ge=1, le=weights_service.MAX_VERSION)] = None,
) -> Response:
    """The weights page."""
    return weights_page(request, session, PageState(message=_announcement(session, saved, rolled)))


@router.post("/admin/weights/preview", dependencies=[CsrfChecked])
def preview_weights(
    request: Request,
    session: SessionDep,
    state: StateDep,
    used: WeightsDep,
    user: AdminPage,
    form: PostedForm,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Response:
    """Preview the sliders' weights: a fragment for the page's script, the whole page for a plain form."""
    weights, errors = read_weights(form)
    sample = read_sample(form)
    preview = None
    if weights is not None:
        preview = preview_view(state.recommender, used.weights, weights, used.version, sample)
    if x_csrf_token:
        context = {"preview": preview, "errors": errors}
        code = status.HTTP_200_OK if weights else status.HTTP_422_UNPROCESSABLE_CONTENT
        return render(request, "_weights_preview.html", context, status_code=code)
    reason = form.get("reason")
    page = PageState(
        values=weights,
        reason=reason if isinstance(reason, str) else "",
        sample=sample,
        expected_version=read_int(form, "expected_version", used.version),
        errors=errors,
        preview=preview,
    )
    return weights_page(request, session, page, 200 if weights else status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.post("/admin/weights", dependencies=[CsrfChecked])
def save_weights(
    request: Request, session: SessionDep, state: StateDep, user: AdminPage, form: PostedForm
) -> Response:
    """Save the sliders as a new version with a reason; a stale form keeps the admin's values."""
    weights, errors = read_weights(form)
    reason, problem = read_reason(form)
    latest = weights_service.current(session)
    expected = read_int(form, "expected_version", 0)
    page = PageState(
        values=weights,
        reason=reason,
        sample=read_sample(form),
        expected_version=expected,
        errors=errors + ([problem] if problem else []),
    )
    if weights is None or problem:
        return weights_page(request, session, page, status.HTTP_422_UNPROCESSABLE_CONTENT)
    if expected == latest.version and weights.model_dump() == latest.weights:
        page.problem = "这些权重与当前版本完全相同，无需保存。请先调整滑块。"
        return weights_page(request, session, page, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        saved = weights_service.save(
            session=session, actor=user, live=state, weights=weights, reason=reason, expected_version=expected
        )
    except weights_service.StaleVersion as exc:
        page.expected_version = exc.current
        page.problem = (
            f"未保存：在您调整期间，权重已被更新为版本 {exc.current}（您的修改基于版本 {exc.expected}）。"
            "您调整的数值和填写的原因都已保留，滑块旁的“当前值”已换成最新版本；请核对预览后再次保存。"
        )
        return weights_page(request, session, page, status.HTTP_409_CONFLICT)
    return RedirectResponse(f"/admin/weights?saved={saved.version}", status.HTTP_303_SEE_OTHER)


@router.post("/admin/weights/rollback/{version}", dependencies=[CsrfChecked])
def rollback_weights(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: AdminPage,
    version: Annotated[int, Path(ge=1, le=weights_service.MAX_VERSION)],
    expected_version: Annotated[int | None, Form(ge=1, le=weights_service.MAX_VERSION)] = None,
) -> Response:
    """Make an old version current again (as a new version); a stale button says so and changes nothing."""
    try:
        saved = weights_service.rollback(
            session=session,
            actor=user,
            live=state,
            version=version,
            reason=None,
            expected_version=expected_version,
        )
    except weights_service.StaleVersion as exc:
        problem = (
            f"未回滚：权重已被更新为版本 {exc.current}（此页面显示的是版本 {exc.expected}）。"
            "请查看下方最新的历史记录后再决定是否回滚。"
        )
        return weights_page(request, session, PageState(problem=problem), status.HTTP_409_CONFLICT)
    return RedirectResponse(f"/admin/weights?rolled={saved.version}", status.HTTP_303_SEE_OTHER)


@router.post("/admin/weights/learn", dependencies=[CsrfChecked])
def learn_weights(request: Request, session: SessionDep, user: AdminPage, form: PostedForm) -> Response:
    """Learn weights from the follow-up outcomes and show them beside the sliders; nothing is saved."""
    learning, split = read_learning(form)
    if learning.problem is None:
        try:
            proposal = weight_learning.propose(session, stage=learning.stage, split=split)
        except Invalid as exc:
            learning.problem = "；".join(describe(error)[1] for error in exc.errors)
        else:
            learning.proposal = learned_view(proposal)
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if learning.problem else status.HTTP_200_OK
    return weights_page(request, session, PageState(learning=learning), code)
