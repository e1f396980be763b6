"""Messages in a browser, on a phone and a laptop: a buyer asks a question from a product
page (with a picture), the seller sees the unread badge in the header and answers, the buyer
sees the answer and the badge clear, and the seller sees "Seen" under the answer."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import open_menu, overflow, png, screenshot
from tests.factories import ProductFactory, ShopFactory, UserFactory


def messages_badge(page: Any) -> str | None:
    open_menu(page)
    badge = page.locator(".nav-links a[href='/messages'] .badge")
    found = badge.inner_text() if badge.count() else None
    page.keyboard.press("Escape")
    return found


def test_a_question_from_a_product_page_is_answered_and_the_badge_clears(
    app: Any, open_as: Any, live_server: str, tmp_path: Any
) -> None:
    shop = ShopFactory(name="Atelier Duarte")
    mug = ProductFactory(shop=shop, title="Speckled stoneware mug")
    buyer = UserFactory(handle="farid", display_name="Farid Haddad")
    picture = tmp_path / "chip.png"
    picture.write_bytes(png())

    asking = open_as(buyer)
    asking.goto(f"{live_server}/products/{mug.id}")
    asking.get_by_role("link", name="Ask a question").click()
    asking.wait_for_load_state()
    assert asking.get_by_role("heading", name="Message Atelier Duarte").is_visible()
    asking.get_by_label("Your message").fill("Is the mug dishwasher-safe?")
    asking.get_by_label("Pictures (optional)").set_input_files(str(picture))
    asking.get_by_role("button", name="Send").click()
    asking.wait_for_load_state()
    assert "/messages/" in asking.url
    assert asking.get_by_text("Is the mug dishwasher-safe?").is_visible()
    assert asking.locator(".message-pictures img").count() == 1
    assert overflow(asking) == 0
    screenshot(asking, "messages-asked")

    seller = open_as(shop.owner)
    seller.goto(f"{live_server}/")
    assert messages_badge(seller) == "1"
    open_menu(seller)
    seller.locator(".nav-links a[href='/messages']").click()
    seller.wait_for_load_state()
    seller.get_by_role("link", name="Your shop").click()
    seller.wait_for_load_state()
    seller.get_by_role("link", name="Farid Haddad").first.click()
    seller.wait_for_load_state()
    assert seller.get_by_text("Is the mug dishwasher-safe?").is_visible()
    seller.get_by_label("Your message").fill("Yes, glazed inside and out.")
    seller.get_by_role("button", name="Send").click()
    seller.wait_for_load_state()
    assert seller.get_by_text("Yes, glazed inside and out.").is_visible()
    assert overflow(seller) == 0
    screenshot(seller, "messages-answered")
    assert messages_badge(seller) is None

    asking.goto(f"{live_server}/")
    assert messages_badge(asking) == "1"
    asking.goto(f"{live_server}/messages")
    assert asking.locator(".conversation-unread").count() == 1
    asking.locator(".conversation-row a").first.click()
    asking.wait_for_load_state()
    assert asking.get_by_text("Yes, glazed inside and out.").is_visible()
    screenshot(asking, "messages-read")
    assert messages_badge(asking) is None

    seller.reload()
    assert seller.locator(".message-seen").is_visible()
