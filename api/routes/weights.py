"""Weight governance endpoints: read, versioned change, preview, history, rollback, learning from outcomes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, status
from pydantic import BaseModel, Field, StringConstraints

from api import weights_preview
from api.deps import AdminUser, SessionDep, StaffUser, StateDep
from api.schemas import AsSent, ErrorOut, error_responses
from api.services import weight_learning
from api.services import weights as weights_service
from matcher.weights import Weights
from models.lead import OutcomeStage
from models.weights_version import WeightsVersion

router = APIRouter(prefix="/api/v1", tags=["weights"])
MAX_PREVIEW_FIRMS = 50


VersionNumber = Annotated[int, Field(ge=1, le=weights_service.MAX_VERSION)]
FirmId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ChangedWeights = Annotated[
    dict[str, list[float | None]], Field(description="有变化的权重：{名称: [原值, 新值]}")
]


STALE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "expected_version 不是当前版本：说明当前版本号"}
}


class WeightsVersionOut(BaseModel):
    """One weights version with the meaning of every weight."""

    version: int = Field(description="版本号（递增，不可修改）")
    weights: Weights = Field(description="该版本的全部权重")
    reason: str = Field(description="修改原因")
    author: str = Field(description="修改人")
    created_at: datetime = Field(description="创建时间")
    restored_from: int | None = Field(description="回滚时恢复的原版本号")
    meanings: dict[str, str] = Field(description="每个权重的含义")


class HistoryEntryOut(BaseModel):
    """One version in the history, with its changes against the version before."""

    version: int = Field(description="版本号")
    weights: dict[str, float] = Field(description="该版本的全部权重")
    reason: str = Field(description="修改原因")
    author: str = Field(description="修改人")
    created_at: datetime = Field(description="创建时间")
    restored_from: int | None = Field(description="回滚时恢复的原版本号")
    diff: ChangedWeights


class WeightsIn(AsSent):
    """A new weights version: the whole weights object and why."""

    weights: weights_service.WholeWeights = Field(
        description="完整的权重对象（每个权重都必须给出，取值 0–1，不允许未知字段）"
    )
    reason: weights_service.Reason
    expected_version: VersionNumber = Field(description="修改所基于的当前版本号；已不是当前版本时返回 409")


class RollbackIn(AsSent):
    """Why a rollback is made, and the version it is based on."""

    reason: weights_service.Reason | None = Field(
        default=None, description="回滚原因（可选，默认「回滚到版本 N」）"
    )
    expected_version: VersionNumber | None = Field(
        default=None, description="回滚所基于的当前版本号（可选）；已不是当前版本时返回 409"
    )


class PreviewIn(AsSent):
    """Proposed weights and the firms to try them on."""

    weights: weights_service.WholeWeights = Field(description="拟采用的完整权重对象")
    firm_ids: list[FirmId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PREVIEW_FIRMS,
        description=f"要预览的企业编号（最多 {MAX_PREVIEW_FIRMS} 个）；不给时按编号顺序取前 sample 个",
    )
    sample: int = Field(default=20, ge=1, le=MAX_PREVIEW_FIRMS, description="未给 firm_ids 时抽取的企业数")


class TopChange(BaseModel):
    """How one firm's top-10 of one kind changes."""

    old: list[str] = Field(description="现行权重下的前 10 名编号")
    new: list[str] = Field(description="拟采用权重下的前 10 名编号")
    entered: list[str] = Field(description="新进入前 10 名的编号")
    left: list[str] = Field(description="跌出前 10 名的编号")
    moved: dict[str, list[int]] = Field(description="名次变化：{编号: [原名次, 新名次]}")
    changed: bool = Field(description="前 10 名是否有任何变化")


class FirmPreview(BaseModel):
    """One sampled firm's changes."""

    id: str = Field(description="企业编号")
    name: str = Field(description="企业名称")
    buildings: TopChange = Field(description="推荐楼宇的变化")
    scenarios: TopChange = Field(description="推荐场景的变化")


class Figures(BaseModel):
    """Aggregate figures of the sampled firms' top-10 lists."""

    mean_score: float = Field(description="前 10 名的平均得分")
    coverage: float = Field(description="覆盖率：出现在任一推荐中的条目占全部条目的比例")
    district_concentration: float = Field(description="区域集中度（HHI，1 表示全部来自同一区）")


class KindFigures(BaseModel):
    """Figures under the current and the proposed weights."""

    old: Figures = Field(description="现行权重")
    new: Figures = Field(description="拟采用权重")
    changed_share: float = Field(description="前 10 名发生变化的企业占比")


class FiguresByKind(BaseModel):
    """Figures for buildings and scenarios."""

    buildings: KindFigures
    scenarios: KindFigures


class DevFigures(BaseModel):
    """Ranking quality on the labelled development set."""

    ndcg_at_10: float = Field(description="nDCG@10")
    mrr: float = Field(description="MRR（首个相关结果名次的倒数的平均）")


class DevComparison(BaseModel):
    """Development-set figures under the current and the proposed weights."""

    old: DevFigures = Field(description="现行权重")
    new: DevFigures = Field(description="拟采用权重")


class DevByKind(BaseModel):
    """Development-set figures for buildings and scenarios."""

    buildings: DevComparison
    scenarios: DevComparison


class PreviewOut(BaseModel):
    """What the proposed weights would change; nothing is saved."""

    based_on_version: int = Field(description="作为对比基准的现行权重版本")
    changed_weights: ChangedWeights
    firms: list[FirmPreview] = Field(description="每个抽样企业的前 10 名变化")
    figures: FiguresByKind = Field(description="抽样企业的汇总指标")
    devset: DevByKind | None = Field(description="标注开发集上的评估指标（开发集不可用时为空）")


class LearnIn(AsSent):
    """What to learn from: the stage that counts as success and the replay's split date."""

    stage: OutcomeStage = Field(
        default=OutcomeStage.visited,
        description="达到哪个阶段算成功：visited（楼宇带看、场景入围）或 signed（楼宇签约、场景中标）",
    )
    split: date | None = Field(
        default=None,
        description="切分日期（YYYY-MM-DD）：之前开始的跟进用于学习，之后的用于回放；默认取 70% 处",
    )


class FigureOut(BaseModel):
    """One set of weights replayed on the lists after the split."""

    ndcg10: float = Field(description="nDCG@10（按位置偏差校正）")
    ci95: tuple[float, float] = Field(description="nDCG@10 的 95% 自助法区间")
    recall3: float = Field(description="达到目标阶段的配对进入前 3 名的比例")


class ReplayOut(BaseModel):
    """The current and the proposed weights on the same lists."""

    current: FigureOut
    proposed: FigureOut
    difference_ci95: tuple[float, float] = Field(description="建议减当前的 nDCG@10 差值的 95% 区间")
    groups: int = Field(description="参与回放的推荐列表数")


class ProposalOut(BaseModel):
    """Learned weights with their replay; a suggestion that saves nothing."""

    current: dict[str, float] = Field(description="当前权重")
    proposed: dict[str, float] = Field(description="建议权重（词面权重与分散度不变）")
    current_version: int = Field(description="当前权重版本号")
    stage: OutcomeStage = Field(description="目标阶段")
    split: date = Field(description="切分日期")
    positives: int = Field(description="学习样本中达到目标阶段的跟进数")
    negatives: int = Field(description="学习样本中未达到的已结束跟进数")
    replay: ReplayOut = Field(description="两类推荐合计的回放")
    per_kind: dict[str, ReplayOut] = Field(description="按类别（buildings、scenarios）的回放")
    evidence: bool = Field(description="差值区间是否整体大于 0（有证据表明建议更好）")
    message: str = Field(description="结论与建议")
    position_bias: dict[str, float] = Field(description="各名次被查看的相对概率（第 1 名为 1）")


def _version_out(row: WeightsVersion) -> dict[str, Any]:
    """A stored version as its answer."""
    return {
        "version": row.version,
        "weights": Weights.model_validate(row.weights),
        "reason": row.reason,
        "author": row.author,
        "created_at": row.created_at,
        "restored_from": row.restored_from,
        "meanings": weights_service.meanings(),
    }


@router.get("/weights", response_model=WeightsVersionOut, summary="当前权重", responses=error_responses(401))
def get_weights(session: SessionDep, user: StaffUser) -> Any:
    """The current weights version with the meaning of every weight."""
    return _version_out(weights_service.current(session))


@router.put(
    "/weights",
    response_model=WeightsVersionOut,
    summary="保存新的权重版本（管理员）",
    responses={**error_responses(401, 403, 422, 503), **STALE},
)
def put_weights(body: WeightsIn, session: SessionDep, state: StateDep, user: AdminUser) -> Any:
    """Save the whole weights object as a new version; 409 when `expected_version` is not current."""
    saved = weights_service.save(
        session=session,
        actor=user,
        live=state,
        weights=body.weights,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _version_out(saved)


@router.post(
    "/weights/preview",
    response_model=PreviewOut,
    summary="预览权重修改的影响（管理员，不保存）",
    responses={
        **error_responses(401, 403, 422),
        404: {"model": ErrorOut, "description": "firm_ids 中有不存在的企业"},
    },
)
def preview_weights(body: PreviewIn, state: StateDep, user: AdminUser) -> Any:
    """How some firms' top-10 and the evaluation figures would change; 404 names unknown firm ids."""
    with state.lock:
        old, version = state.recommender.weights, state.weights_version
    try:
        result = weights_preview.preview(state.recommender, old, body.weights, body.firm_ids, body.sample)
    except weights_preview.UnknownFirms as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"firm_ids：{exc}") from None
    return {"based_on_version": version, **result}


@router.get(
    "/weights/history",
    response_model=list[HistoryEntryOut],
    summary="权重版本历史",
    responses=error_responses(401),
)
def weights_history(session: SessionDep, user: StaffUser) -> Any:
    """Every version, newest first, with who, when, why and what changed."""
    return [vars(entry) for entry in weights_service.history(session)]


@router.post(
    "/weights/rollback/{version}",
    response_model=WeightsVersionOut,
    summary="回滚到旧版本（管理员，生成新版本）",
    responses={
        **error_responses(401, 403, 422, 503),
        404: {"model": ErrorOut, "description": "权重版本不存在"},
        **STALE,
    },
)
def rollback_weights(
    version: Annotated[int, Path(ge=1, le=weights_service.MAX_VERSION, description="要恢复的版本号")],
    session: SessionDep,
    state: StateDep,
    user: AdminUser,
    body: Annotated[RollbackIn | None, Body(description="回滚原因与所基于的版本（可选）")] = None,
) -> Any:
    """Make an old version current again as a new version; 404 for an unknown version."""
    body = body or RollbackIn()
    saved = weights_service.rollback(
        session=session,
        actor=user,
        live=state,
        version=version,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return _version_out(saved)


@router.post(
    "/weights/learn",
    response_model=ProposalOut,
    summary="从跟进结果学习权重并回放比较（管理员，不保存）",
    responses=error_responses(401, 403, 422),
)
def learn_weights(session: SessionDep, user: AdminUser, body: LearnIn | None = None) -> Any:
    """Weights learned from the leads' outcomes and replayed on a time split; 422 when data are too few."""
    body = body or LearnIn()
    return weight_learning.propose(session, stage=body.stage, split=body.split).json()
