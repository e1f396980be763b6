from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from payouts.models import Payee, PlatformSettings
from tests.conftest import login
from tests.factories import TwoStepUserFactory, UserFactory
from tests.marketplace.shopping import buy, orders_of, two_shops


def test_set_up_payouts_through_the_hosted_onboarding(client, emulator):
    seller = TwoStepUserFactory()  # where money goes changes only after two-step sign-in
    login(client, seller)
    page = client.get("/account/payouts").get_data(as_text=True)
    assert "Set up payouts" in page and "nothing is lost" in page
    started = client.post_form("/account/payouts/start")
    assert started.status_code == 303
    onboarding = started.headers["Location"].replace("http://kindred.test", "")
    assert onboarding.startswith("/_stripe/")
    client.get(onboarding)
    done = client.post(onboarding, data={})
    assert done.headers["Location"].endswith("/account/payouts/return")
    back = client.get("/account/payouts/return", follow_redirects=True).get_data(as_text=True)
    assert "Payouts are on" in back
    payee = db.session.scalar(select(Payee))
    assert payee.can_receive
    dashboard = client.post_form("/account/payouts/dashboard")
    assert dashboard.status_code == 303


def test_earnings_dashboard_csv_and_chart(client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    (order,) = orders_of(checkout)
    client.post_form("/logout")
    login(client, order.shop.owner)
    page = client.get("/account/earnings").get_data(as_text=True)
    assert "€28.00" in page  # 23.00 of the bowl and 5.00 shipping, pending
    assert "Pending" in page and "Earnings by month" in page
    assert "Set up payouts to receive it" in page
    csv = client.get("/account/earnings.csv")
    assert csv.mimetype == "text/csv"
    rows = csv.get_data(as_text=True).strip().splitlines()
    assert rows[0].startswith("date,order,item,role") and len(rows) == 3
    assert any(",seller,eur,2300,0,2300,pending," in row for row in rows)


def test_admin_page_is_for_admins_and_saves_settings(client, emulator):
    login(client, UserFactory())
    assert client.get("/admin/payouts/").status_code == 403
    client.post_form("/logout")
    admin = UserFactory(is_admin=True)
    login(client, admin)
    page = client.get("/admin/payouts/?reconcile=1").get_data(as_text=True)
    assert "The ledger and Stripe agree" in page
    bad = client.post_form(
        "/admin/payouts/",
        {
            "fee_bps": "8",
            "commission_min_bps": "0",
            "commission_max_bps": "60",
            "seller_min_bps": "50",
            "hold_days": 7,
            "min_payout_minor": "10.00",
        },
    )
    assert bad.status_code == 422
    good = client.post_form(
        "/admin/payouts/",
        {
            "fee_bps": "10",
            "commission_min_bps": "0",
            "commission_max_bps": "25",
            "seller_min_bps": "50",
            "hold_days": 3,
            "min_payout_minor": "5.00",
        },
    )
    assert good.status_code == 302
    saved = db.session.scalar(select(PlatformSettings))
    assert (saved.fee_bps, saved.hold_days) == (1000, 3)


def _value_of(page: str, name: str) -> str:
    import re

    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag is not None, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_money_settings_are_percentages_and_amounts_not_basis_points_and_cents(client, emulator):
    import re

    login(client, UserFactory(is_admin=True))
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "basis points" not in page and "(bps)" not in page and "(cents)" not in page
    assert re.search(r'<label[^>]*for="fee_bps"[^>]*>Platform fee \(%\)</label>', page)
    assert _value_of(page, "fee_bps") == "8"  # 800 basis points
    assert _value_of(page, "min_payout_minor") == "10.00"  # 1000 cents
    saved = client.post_form(
        "/admin/payouts/",
        {
            "fee_bps": "10.5 %",
            "commission_min_bps": "0,25",
            "commission_max_bps": "25",
            "seller_min_bps": "50",
            "hold_days": "7",
            "min_payout_minor": "4.90",
        },
    )
    assert saved.status_code == 302
    settings = db.session.scalar(select(PlatformSettings))
    db.session.refresh(settings)
    assert (settings.fee_bps, settings.commission_min_bps, settings.min_payout_minor) == (
        1050,
        25,
        490,
    )
    shown = client.get("/admin/payouts/").get_data(as_text=True)
    assert _value_of(shown, "fee_bps") == "10.5"
    assert _value_of(shown, "commission_min_bps") == "0.25"
    assert _value_of(shown, "min_payout_minor") == "4.90"
    wrong = client.post_form(
        "/admin/payouts/",
        {
            "fee_bps": "ten",
            "commission_min_bps": "1.255",
            "commission_max_bps": "70",
            "seller_min_bps": "50",
            "hold_days": "7",
            "min_payout_minor": "4.9.0",
        },
    )
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert text.count("Enter a percentage such as 10 or 10.5, with at most two decimals.") == 2
    assert "Choose a commission between 0 and 50." in text
    assert "Enter an amount such as 12.50." in text
    assert "Number must be" not in text
    db.session.refresh(settings)
    assert settings.fee_bps == 1050  # nothing changed
    french = client.post_form(
        "/admin/payouts/",
        {"fee_bps": "dix", "min_payout_minor": "x"},
        headers={"Accept-Language": "fr"},
    )
    assert "Saisissez un pourcentage" in french.get_data(as_text=True)


def test_new_settings_apply_to_new_checkouts_only(client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    from payouts import settings

    db.session.add(
        PlatformSettings(
            fee_bps=2000,
            commission_min_bps=0,
            commission_max_bps=3000,
            seller_min_bps=5000,
            hold_days=7,
            min_payout_minor=1000,
        )
    )
    db.session.commit()
    assert settings.current().fee_bps == 2000
    from payouts.models import LineParty

    fees = db.session.scalars(select(LineParty.rate_bps).where(LineParty.role == "platform")).all()
    assert fees == [800]  # the sale already made keeps its rate
    assert checkout.total_minor == 3000


def test_the_chart_ends_with_this_month():
    from datetime import UTC, datetime

    from payouts.dashboard import _month_starts

    starts = _month_starts(datetime(2026, 1, 15, 10, tzinfo=UTC), 3)
    assert [s.strftime("%Y-%m") for s in starts] == ["2025-11", "2025-12", "2026-01"]


def test_earnings_of_this_month_are_in_the_chart(client, emulator):
    bowl, _jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl)
    (order,) = orders_of(checkout)
    from payouts.dashboard import monthly_chart
    from payouts.payees import find_user_payee

    bars = monthly_chart(find_user_payee(order.shop.owner_id))
    assert bars[-1].amount == 2800 and bars[-1].height == 100


def test_the_csv_never_hands_a_spreadsheet_a_formula(client, emulator):
    from tests.factories import ProductFactory

    sneaky = ProductFactory(title='=HYPERLINK("http://evil.test","x")', price_minor=2500)
    checkout = buy(client, UserFactory(), sneaky)
    (order,) = orders_of(checkout)
    client.post_form("/logout")
    login(client, order.shop.owner)
    text = client.get("/account/earnings.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_the_reconciliation_counts_transfers_in_the_right_plural(client, emulator):
    from tests.payouts.money import onboard, pay_out, release_after_hold
    from tests.payouts.test_money_flow import deliver

    bowl, _jacket = two_shops()
    buyer = UserFactory()
    (order,) = orders_of(buy(client, buyer, bowl))
    deliver(client, order, buyer)
    release_after_hold(days=8)
    onboard(order.shop.owner, emulator)
    assert pay_out().paid == 1
    login(client, UserFactory(is_admin=True))
    page = client.get("/admin/payouts/?reconcile=1").get_data(as_text=True)
    assert "The ledger and Stripe agree (1 transfer checked)." in page
    french = client.get("/admin/payouts/?reconcile=1", headers={"Accept-Language": "fr"})
    assert "(1 virement vérifié)" in french.get_data(as_text=True)


def test_the_admin_front_door_leads_admins_to_the_overview_and_refuses_others(client, emulator):
    assert client.get("/admin/").status_code == 302  # signed out: the log-in page
    assert "/login" in client.get("/admin/").headers["Location"]
    login(client, UserFactory())
    assert client.get("/admin/").status_code == client.get("/admin/payouts/").status_code == 403
    login(client, UserFactory(is_admin=True))
    page = client.get("/admin/", follow_redirects=True)
    assert page.status_code == 200
    assert "<h1>Payouts administration</h1>" in page.get_data(as_text=True)
    assert client.get("/admin").status_code in (301, 308)  # to /admin/
