"""The cleaning door of the service: who may scan, see side by side, merge and read the
cleaning report, what leaves masked, and that a merged-away code still finds the survivor."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import customer_data
from tui_crm import audit
from tui_crm.importer import ImportOptions
from tui_crm.service import Customer, NotFound, PermissionDenied, Service
from tui_crm.service.cleaning import MergeRefused, MergeStale, ScanResult

Session = Callable[[str], Service]


def add(admin: Service, owner: str, **data: str) -> Customer:
    return admin.customers.create({**customer_data(**data), "owner": owner})


@pytest.fixture
def pairs(session: Session) -> dict[str, object]:
    """sales1 has a pair of its own (one phone, 有限公司 vs full-width name); a cross-owner
    pair shares an email between sales1 and sales2."""
    admin = session("admin")
    return {
        "mine": add(
            admin,
            "sales1",
            name="北京星辰科技有限公司",
            phone="13800138000",
            email="ann@xc.example",
        ),
        "mine2": add(
            admin, "sales1", name="北京星辰科技", phone="138 0013 8000", email="amy@xc.example"
        ),
        "cross": add(
            admin, "sales1", name="Acme Trading Co., Ltd.", phone="13700000001", email="ops@acme.cn"
        ),
        "cross2": add(
            admin, "sales2", name="ＡＣＭＥ　Trading", phone="13700000002", email="ops@acme.cn"
        ),
    }


def codes(result: ScanResult) -> set[frozenset[str]]:
    return {frozenset((c.first.code, c.second.code)) for c in result.candidates}


def test_scan_scope_by_role(session: Session, pairs: dict) -> None:
    mine = frozenset((pairs["mine"].code, pairs["mine2"].code))
    cross = frozenset((pairs["cross"].code, pairs["cross2"].code))
    everything = session("manager").cleaning.scan()
    assert codes(everything) == {mine, cross}
    assert everything.candidates[0].score >= everything.candidates[-1].score
    assert codes(session("sales1").cleaning.scan()) == {mine}
    assert codes(session("sales2").cleaning.scan()) == set()
    with pytest.raises(PermissionDenied):
        session("service").cleaning.scan()


def test_side_by_side_is_masked_and_says_what_differs(session: Session, pairs: dict) -> None:
    view = session("sales1").cleaning.side_by_side(pairs["mine"].code, pairs["mine2"].id)
    fields = {f.field: f for f in view.fields}
    text = repr(view)
    for secret in ("13800138000", "ann@xc.example", "amy@xc.example"):
        assert secret not in text
    assert fields["phone"].survivor == pairs["mine"].phone  # as the detail screen masks it
    assert fields["phone"].sensitive and not fields["name"].sensitive
    assert not fields["phone"].differs  # the same number, spaced differently when typed
    assert fields["email"].differs and fields["email"].survivor == fields["email"].merged
    assert fields["owner_id"].survivor == "sales1"
    assert view.expected_versions == (1, 1)


def test_a_rep_may_not_merge_or_view_a_colleagues_customer(session: Session, pairs: dict) -> None:
    rep = session("sales1")
    before = rep.db.conn.execute("SELECT * FROM customers ORDER BY id").fetchall()
    for call in (rep.cleaning.side_by_side, rep.cleaning.merge):
        ours, theirs = pairs["cross"].id, pairs["cross2"].id
        for args in ((ours, theirs), (theirs, ours)):
            with pytest.raises(PermissionDenied) as refused:
                call(*args)
            assert pairs["cross2"].code not in str(refused.value)
            assert "ACME" not in str(refused.value).upper()
    after = rep.db.conn.execute("SELECT * FROM customers ORDER BY id").fetchall()
    assert [tuple(r) for r in before] == [tuple(r) for r in after]


def test_merge_audits_both_codes_and_the_old_code_finds_the_survivor(
    session: Session, pairs: dict
) -> None:
    manager = session("manager")
    survivor, merged = pairs["cross"], pairs["cross2"]
    view = manager.cleaning.side_by_side(survivor.id, merged.id)
    result = manager.cleaning.merge(
        survivor.id, merged.id, {"owner_id": "merged"}, view.expected_versions
    )
    assert (result.survivor_code, result.merged_code) == (survivor.code, merged.code)
    found = manager.customers.get(merged.code)
    assert found.id == survivor.id and found.owner == "sales2"
    assert manager.customers.get(merged.code.lower()).code == survivor.code
    assert [c.code for c in manager.customers.find(merged.code)] == [survivor.code]
    db = manager.db
    entries = audit.query(db.conn, db.keys, audit.AuditFilter(actor="manager"))
    actions = {(e.action, e.customer_code) for e in entries}
    assert ("customer.merge", survivor.code) in actions
    assert ("customer.merged", merged.code) in actions
    # the new owner's rep finds it by either code; the old one no longer can
    assert session("sales2").customers.get(merged.code).id == survivor.id
    with pytest.raises(PermissionDenied):
        session("sales1").customers.get(merged.code)
    with pytest.raises(NotFound):
        manager.customers.get("C2099999999")


def test_a_rep_merges_two_of_their_own(session: Session, pairs: dict) -> None:
    rep = session("sales1")
    result = rep.cleaning.merge(pairs["mine"].code, pairs["mine2"].code, {"email": "merged"})
    kept = rep.customers.get(pairs["mine2"].code)
    assert kept.id == pairs["mine"].id and kept.version == result.version == 2
    assert rep.customers.reveal(kept.id, "email") == "amy@xc.example"
    assert codes(rep.cleaning.scan()) == set()


def test_stale_or_odd_merges_are_refused_and_change_nothing(session: Session, pairs: dict) -> None:
    manager = session("manager")
    first, second = pairs["mine"], pairs["mine2"]
    view = manager.cleaning.side_by_side(first.id, second.id)
    manager.customers.update(second.id, {"notes": "called"}, second.version)
    with pytest.raises(MergeStale, match="changed by someone else"):
        manager.cleaning.merge(first.id, second.id, None, view.expected_versions)
    with pytest.raises(MergeRefused, match="itself"):
        manager.cleaning.merge(first.code, first.id)
    with pytest.raises(MergeRefused, match="wishes"):
        manager.cleaning.merge(first.id, second.id, {"wishes": "merged"})  # type: ignore[dict-item]
    with pytest.raises(NotFound):
        manager.cleaning.merge(first.id, "C1999000001")
    assert manager.customers.get(second.id).version == 2


def test_cleaning_report_for_managers_and_for_one_import_run(
    session: Session, pairs: dict, tmp_path: Path
) -> None:
    manager = session("manager")
    whole = manager.cleaning.report()
    assert whole.customers == 4 and whole.duplicate_candidates == 2 and whole.run_id is None
    for role in ("sales1", "service"):
        with pytest.raises(PermissionDenied):
            session(role).cleaning.report()
    csv = tmp_path / "in.csv"
    csv.write_text(
        "客户名称,手机,邮箱\n上海明珠餐饮管理有限公司,13600001111,\n"
        "Ｂｏｂ [/] & Co,,bob@example.com\n北京星辰科技股份有限公司,13900139000,\n",
        encoding="utf-8",
    )
    summary = manager.imports.run(csv, ImportOptions("consent", default_type="prospect"))
    run = manager.cleaning.report(run_id=summary.run_id)
    assert run.run_id == summary.run_id and run.customers == 3
    assert run.duplicates_by_reason == {"name": 2}  # 星辰…股份有限公司 and both of sales1's
    missing = {m.field: m.missing for m in run.missing}
    assert missing["email"] == 2 and missing["phone"] == 1
    with pytest.raises(NotFound):
        manager.cleaning.report(run_id=summary.run_id + 100)


def test_a_scan_leaves_the_sessions_connection_free(session: Session, pairs: dict) -> None:
    """The other screens keep working while a scan of the whole base runs."""
    manager = session("manager")
    free: list[bool] = []

    def progress(fraction: float, message: str) -> None:
        def probe() -> None:
            got = manager.db._lock.acquire(blocking=False)
            free.append(got)
            if got:
                manager.db._lock.release()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()

    manager.cleaning.scan(progress=progress)
    manager.cleaning.report(progress=progress)
    assert free and all(free)
