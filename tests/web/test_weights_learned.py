"""从跟进结果学习的建议 on 权重调优: learned on request, shown beside the sliders, saved only by the admin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import create_user
from api.config import Settings
from api.services import weight_learning
from api.services import weights as weights_service
from api.services.write import Operator
from api.web.weights_view import GROUPS, shown
from demo.bundle import load_demo
from matcher.hashing import HashingEncoder
from matcher.replay import Proposal
from matcher.weights import Weights
from migrations import migrate
from models.clock import china_date
from models.database import make_engine, make_session_factory
from models.lead import Lead, OutcomeStage
from models.user import Role
from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database
from tests.web.conftest import login, no_overflow, shot

PASSWORDS = {"admin": "管理员密码2026", "staff": "招商人员密码2026"}
LEARN_TIMEOUT_MS = 60_000
"""Learning and replaying 3,000 leads takes seconds; a loaded test machine is slower."""


# ---- reading pages ---------------------------------------------------------------------------


@dataclass
class Element:
    """One element of a page: its tag, attributes, text (its descendants' included) and what encloses it."""

    tag: str
    attrs: dict[str, str]
    within: frozenset[str]
    """The `#id` and `.class` of every enclosing element."""
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text, blanks collapsed."""
        return " ".join("".join(self.parts).split())

    @property
    def marks(self) -> frozenset[str]:
        """The element's own `#id` and `.class`es."""
        classes = {f".{name}" for name in self.attrs.get("class", "").split()}
        return frozenset(classes | ({f"#{self.attrs['id']}"} if "id" in self.attrs else set()))


class Elements(HTMLParser):
    """Every element of a page in document order."""

    VOID = frozenset({"input", "meta", "link", "br", "img", "hr", "source"})

    def __init__(self, html: str) -> None:
        """Parse the page."""
        super().__init__()
        self.found: list[Element] = []
        self.open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record an element and, unless it is void, keep it open."""
        within = frozenset(mark for element in self.open for mark in element.marks)
        element = Element(tag, {name: value or "" for name, value in attrs}, within)
        self.found.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open element of this tag."""
        for at in range(len(self.open) - 1, -1, -1):
            if self.open[at].tag == tag:
                del self.open[at:]
                return

    def handle_data(self, data: str) -> None:
        """Add text to every open element."""
        for element in self.open:
            element.parts.append(data)

    def select(self, tag: str, within: str = "", mark: str = "") -> list[Element]:
        """The elements of a tag inside an element marked `within` (`#id` or `.class`), marked `mark`."""
        return [
            element
            for element in self.found
            if element.tag == tag
            and (not within or within in element.within)
            and (not mark or mark in element.marks)
        ]

    def one(self, tag: str, within: str = "", mark: str = "") -> Element:
        """The only element that matches."""
        found = self.select(tag, within, mark)
        assert len(found) == 1, f"{len(found)} 个 <{tag}> 在 {within or '页面'} 中 {mark}"
        return found[0]

    def form(self, mark: str) -> dict[str, str]:
        """What a form would submit: its inputs' and textareas' values by name."""
        fields = {
            element.attrs["name"]: element.attrs.get("value", "")
            for element in self.select("input", mark)
            if "name" in element.attrs
        }
        for textarea in self.select("textarea", mark):
            fields[textarea.attrs["name"]] = "".join(textarea.parts).strip()
        return fields


# ---- sites -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """An app over a database, with a browser-like client."""

    client: TestClient
    database_url: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the site's database."""
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()

    def version(self) -> int:
        """The current weights version."""
        with self.session() as session:
            return weights_service.current(session).version

    def sign_in(self, role: str) -> str:
        """Sign in by session cookie as `admin` or `staff`; return the page's CSRF token."""
        answer = self.client.post("/api/v1/auth/login", json={"name": role, "password": PASSWORDS[role]})
        assert answer.status_code == 200, answer.text
        self.client.cookies.set("xingpei_session", answer.json()["token"])
        found = re.search(r'name="csrf-token" content="([^"]+)"', self.client.get("/").text)
        assert found is not None
        return found.group(1)

    def learn(self, csrf: str, **form: str) -> tuple[int, Elements]:
        """Ask for a proposal; the status and the page."""
        answer = self.client.post("/admin/weights/learn", data={"csrf_token": csrf, **form})
        return answer.status_code, Elements(answer.text)


@contextmanager
def site(tmp_path: Path, *, history: bool) -> Iterator[Site]:
    """The app over a new database with an admin and a staff user, and (if asked) the demo and its history."""
    if TEST_DATABASE_URL:
        url, name = create_postgres_database(TEST_DATABASE_URL)
    else:
        url, name = f"sqlite:///{tmp_path / 'learned.db'}", ""
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        if history:
            load_demo(session)
        for role in (Role.admin, Role.staff):
            create_user(session, name=role.value, role=role, password=PASSWORDS[role.value])
    engine.dispose()
    try:
        with TestClient(create_app(Settings(database_url=url), encoder=HashingEncoder())) as client:
            yield Site(client, url)
    finally:
        if name:
            drop_postgres_database(TEST_DATABASE_URL, name)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo catalogue and its 18 months of follow-up (about 3,000 leads)."""
    with site(tmp_path_factory.mktemp("learned"), history=True) as running:
        yield running


@pytest.fixture(scope="module")
def visited(demo: Site) -> Proposal:
    """What the service proposes on the demo for 带看 with its own split date."""
    with demo.session() as session:
        return weight_learning.propose(session, stage=OutcomeStage.visited)


def first_day(running: Site) -> date:
    """The day the site's first lead began."""
    with running.session() as session:
        first = session.scalar(select(func.min(Lead.created_at)))
    assert first is not None
    return china_date(first)


def weight_row(label: str, now: float, new: float) -> str:
    """A row of the weights table as read: label, current value, proposed value (marked when changed)."""
    if shown(now) == shown(new):
        return f"{label} {shown(now)} {shown(new)}"
    return f"{label} {shown(now)} {'↑' if new > now else '↓'} {shown(new)}"


# ---- the form --------------------------------------------------------------------------------


def test_the_weights_page_offers_learning_but_learns_nothing_by_itself(demo: Site) -> None:
    csrf = demo.sign_in("admin")
    page = Elements(demo.client.get("/admin/weights").text)
    assert page.one("h2", "#learned").text == "从跟进结果学习的建议"
    form = page.one("form", "#learned", ".learn-form")
    assert form.attrs["action"].startswith("/admin/weights/learn")
    options = page.select("option", ".learn-form")
    assert [(option.attrs["value"], option.text) for option in options] == [
        ("visited", "带看（场景：入围）"),
        ("signed", "签约（场景：中标）"),
    ]
    assert "selected" in options[0].attrs
    assert page.form(".learn-form") == {"csrf_token": csrf, "split": ""}
    assert not page.select("form", "#learned", "#learned-form")  # no proposal until asked
    assert not page.select("p", "#learned", ".learned-verdict")


def test_only_admins_may_learn(demo: Site) -> None:
    demo.client.cookies.clear()
    found = re.search(r'name="csrf-token" content="([^"]+)"', demo.client.get("/").text)
    assert found is not None
    anonymous = demo.client.post(
        "/admin/weights/learn",
        data={"csrf_token": found.group(1), "stage": "visited"},
        follow_redirects=False,
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    csrf = demo.sign_in("staff")
    assert demo.client.get("/admin/weights").status_code == 403
    refused = demo.client.post("/admin/weights/learn", data={"csrf_token": csrf, "stage": "visited"})
    assert refused.status_code == 403
    assert "没有权限" in refused.text
    demo.sign_in("admin")
    without_token = demo.client.post("/admin/weights/learn", data={"stage": "visited"})
    assert without_token.status_code == 403
    assert "CSRF" in without_token.text


# ---- a proposal ------------------------------------------------------------------------------


def test_a_proposal_shows_each_weight_current_to_proposed(demo: Site, visited: Proposal) -> None:
    csrf = demo.sign_in("admin")
    before = demo.version()
    status, page = demo.learn(csrf, stage="visited", split="")
    assert status == 200
    rows = page.select("tr", ".learned-weights")[1:]
    expected = [
        weight_row(Weights.label(name), getattr(visited.current, name), getattr(visited.proposed, name))
        for _, names in GROUPS
        for name in names
    ]
    assert [row.text for row in rows] == expected
    changed = [row.text.split()[0] for row in rows if ".changed" in row.marks]
    assert changed == [line.split()[0] for line in expected if "↑" in line or "↓" in line]
    assert changed  # the demo's outcomes move some weights
    verdict = page.one("p", "#learned", ".learned-verdict")
    assert verdict.text == visited.message
    assert (".success" if visited.evidence else ".none") in verdict.marks
    facts = page.one("ul", "#learned", ".learned-facts").text
    for words in (
        "目标阶段：带看",
        f"切分日期：{visited.split.isoformat()}",
        f"正例 {visited.positives} · 负例 {visited.negatives}",
        f"回放：{visited.replay.groups} 个推荐列表",
        f"基于版本 {before}",
    ):
        assert words in facts
    assert demo.version() == before  # a proposal saves nothing


def test_the_replay_shows_both_weights_with_intervals_pooled_and_per_kind(
    demo: Site, visited: Proposal
) -> None:
    csrf = demo.sign_in("admin")
    _, page = demo.learn(csrf, stage="visited")
    replays = [("全部跟进记录", visited.replay)]
    replays += [
        ({"buildings": "楼宇", "scenarios": "应用场景"}[kind], replay)
        for kind, replay in visited.per_kind.items()
    ]
    assert len(replays) == 3  # the demo has enough of both kinds
    captions = [caption.text for caption in page.select("caption", "#learned")]
    assert captions == [f"{title} · {replay.groups} 个推荐列表" for title, replay in replays]
    body = [row.text for row in page.select("tr", ".replay") if not row.text.startswith("nDCG@10")]
    for at, (_, replay) in enumerate(replays):
        now, new = replay.current, replay.proposed
        low, high = replay.difference_ci95
        assert body[3 * at : 3 * at + 3] == [
            f"当前权重 {now.ndcg10:.3f}[{now.ci95[0]:.3f}, {now.ci95[1]:.3f}] {now.recall3:.1%}",
            f"建议权重 {new.ndcg10:.3f}[{new.ci95[0]:.3f}, {new.ci95[1]:.3f}] {new.recall3:.1%}",
            f"变化 {new.ndcg10 - now.ndcg10:+.3f}[{low:+.3f}, {high:+.3f}] {new.recall3 - now.recall3:+.1%}",
        ]
    differences = page.select("span", ".replay", ".delta")[2::3]  # each table's 变化 row
    for span, (_, replay) in zip(differences, replays, strict=True):
        low, high = replay.difference_ci95
        assert (".good" in span.marks, ".bad" in span.marks) == (low > 0, high < 0)
    ranks = [term.text for term in page.select("dt", ".position-bias")]
    propensities = [value.text for value in page.select("dd", ".position-bias")]
    assert list(zip(ranks, propensities, strict=True)) == [
        (f"第 {rank} 名", f"{value:.2f}") for rank, value in sorted(visited.position_bias.items())
    ]


def test_the_chosen_stage_and_split_date_are_used_and_kept(demo: Site) -> None:
    csrf = demo.sign_in("admin")
    split = first_day(demo) + timedelta(days=300)
    with demo.session() as session:
        expected = weight_learning.propose(session, stage=OutcomeStage.signed, split=split)
    status, page = demo.learn(csrf, stage="signed", split=split.isoformat())
    assert status == 200
    assert page.one("p", "#learned", ".learned-verdict").text == expected.message
    facts = page.one("ul", "#learned", ".learned-facts").text
    assert "目标阶段：签约" in facts
    assert f"切分日期：{split.isoformat()}" in facts
    assert f"正例 {expected.positives} · 负例 {expected.negatives}" in facts
    chosen = [
        option.attrs["value"] for option in page.select("option", ".learn-form") if "selected" in option.attrs
    ]
    assert chosen == ["signed"]
    assert page.form(".learn-form")["split"] == split.isoformat()


# ---- refusals --------------------------------------------------------------------------------


def test_too_few_outcomes_before_the_split_is_a_422_and_saves_nothing(demo: Site) -> None:
    csrf = demo.sign_in("admin")
    before = demo.version()
    status, page = demo.learn(csrf, stage="visited", split=(first_day(demo) + timedelta(days=2)).isoformat())
    assert status == 422
    problem = page.one("p", "#learned", ".alert").text
    assert problem.startswith("未能给出建议：切分日期之前的跟进不足以学习")
    assert "至少需要 30 条" in problem
    assert not page.select("form", "#learned", "#learned-form")
    assert demo.version() == before


def test_a_split_date_outside_the_data_is_a_422_naming_the_range(demo: Site) -> None:
    csrf = demo.sign_in("admin")
    status, page = demo.learn(csrf, stage="visited", split="2020-01-01")
    assert status == 422
    assert "切分日期 2020-01-01 不在跟进记录的时间范围内" in page.one("p", "#learned", ".alert").text


def test_bad_form_values_are_named(demo: Site) -> None:
    csrf = demo.sign_in("admin")
    status, page = demo.learn(csrf, stage="moved_in", split="明天")
    assert status == 422
    problem = page.one("p", "#learned", ".alert").text
    assert "目标阶段：应为「带看」或「签约」" in problem
    assert "切分日期：应为 2026-06-01 这样的日期，实际为「明天」" in problem


def test_without_leads_there_is_nothing_to_learn(tmp_path: Path) -> None:
    with site(tmp_path, history=False) as empty:
        csrf = empty.sign_in("admin")
        status, page = empty.learn(csrf, stage="visited")
        assert status == 422
        assert "还没有可学习的跟进记录" in page.one("p", "#learned", ".alert").text
        assert empty.version() == 1


# ---- preview and save through the existing forms ---------------------------------------------


def test_the_proposal_previews_in_the_sliders_and_saves_as_an_audited_version(
    demo: Site, visited: Proposal
) -> None:
    csrf = demo.sign_in("admin")
    before = demo.version()
    _, learned = demo.learn(csrf, stage="visited")
    fields = learned.form("#learned-form")
    assert fields["reason"] == visited.reason()
    assert fields["expected_version"] == str(before)
    action = learned.one("form", "#learned", "#learned-form").attrs["action"]
    answer = demo.client.post(action.partition("#")[0], data=fields)
    assert answer.status_code == 200
    page = Elements(answer.text)
    sliders = {
        element.attrs["name"]: float(element.attrs["value"])
        for element in page.select("input", "#weights-form")
        if element.attrs.get("type") == "range"
    }
    assert sliders == visited.proposed.model_dump()
    assert page.one("textarea", "#weights-form").text == visited.reason()
    preview = page.one("p", "#preview", ".changed-weights").text
    for name in Weights.model_fields:
        now, new = getattr(visited.current, name), getattr(visited.proposed, name)
        assert (f"{Weights.label(name)} {shown(now)} → {shown(new)}" in preview) == (now != new), name
    assert demo.version() == before
    saved = demo.client.post("/admin/weights", data=page.form("#weights-form"), follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/admin/weights?saved={before + 1}"
    try:
        with demo.session() as session:
            latest = weights_service.current(session)
            assert (latest.version, latest.reason, latest.author) == (before + 1, visited.reason(), "admin")
            assert latest.weights == visited.proposed.model_dump()
        token = demo.client.cookies.get("xingpei_session")
        audit = demo.client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"}).json()
        assert (audit[0]["target_kind"], audit[0]["target_id"]) == ("weights", str(before + 1))
    finally:
        with demo.session() as session:
            weights_service.rollback(
                session=session,
                actor=Operator("test"),
                live=None,
                version=before,
                reason=None,
                expected_version=None,
            )


# ---- in the browser --------------------------------------------------------------------------


def learn_in_browser(page: Page) -> None:
    """Open the weights page as the admin and ask for a proposal (带看, the service's split)."""
    login(page, "admin")
    page.goto("/admin/weights")
    page.get_by_label("目标阶段").select_option("visited")
    page.get_by_role("button", name="学习建议权重").click()
    expect(page.locator(".learned-verdict")).to_be_visible(timeout=LEARN_TIMEOUT_MS)


def test_preview_with_the_proposal_fills_the_sliders_in_place(page: Page) -> None:
    learn_in_browser(page)
    version = page.locator(".learned-facts").inner_text().rpartition("基于版本 ")[2].strip()
    proposed = page.eval_on_selector_all(
        "#learned-form input[type=hidden]", "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))"
    )
    shot(page, "admin-weights-learned")
    page.get_by_role("button", name="用建议值预览").click()
    expect(page.locator("#preview .changed-weights")).to_be_visible(timeout=LEARN_TIMEOUT_MS)
    sliders = page.eval_on_selector_all(
        "#weights-form input[type=range]", "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))"
    )
    assert {name: float(value) for name, value in sliders.items()} == {
        name: float(proposed[name]) for name in Weights.model_fields
    }
    expect(page.get_by_label("修改原因")).to_have_value(proposed["reason"])
    assert proposed["reason"].startswith("从跟进结果学习（带看，切分 ")
    expect(page.locator(".learned-verdict")).to_be_visible()  # the proposal stays beside the sliders
    changed = page.locator(".learned-weights tr.changed th").all_inner_texts()
    assert changed
    for label in changed:
        expect(page.locator("#preview .changed-weights")).to_contain_text(label)
    assert page.locator("#weights-form input[name=expected_version]").input_value() == version
    shot(page, "admin-weights-learned-preview")


def test_the_proposal_fits_a_phone(phone: Page) -> None:
    learn_in_browser(phone)
    no_overflow(phone)
    expect(phone.locator("#learned")).to_be_in_viewport()
    shot(phone, "admin-weights-learned-phone")
