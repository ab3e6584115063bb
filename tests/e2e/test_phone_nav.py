"""The navigation on a phone: below 480 px the inline page links give way to a menu button
(``#nav-menu``) that still reaches the Lobby and the Sessions pages."""

from __future__ import annotations

from playwright.sync_api import expect

PHONE = {"width": 375, "height": 740}


def test_phone_menu_reaches_lobby_and_sessions(student):
    s = student(viewport=PHONE, is_mobile=True, has_touch=True)
    page = s.page
    # The inline links are hidden on a phone: the menu is the way.
    expect(page.locator("#nav-sessions")).to_be_hidden()
    expect(page.locator("#nav-lobby")).to_be_hidden()
    expect(page.locator("#nav-menu")).to_be_visible()

    page.locator("#nav-menu").click()
    page.locator("#nav-menu-sessions").click()
    page.wait_for_url("**/sessions")
    expect(page.locator("#create-session")).to_be_visible()

    page.locator("#nav-menu").click()
    page.locator("#nav-menu-lobby").click()
    page.wait_for_url("**/lobby")
    expect(page.locator("#create-room")).to_be_visible()
    # Nothing sticks out sideways: the bar fits the phone's width.
    assert page.locator("#navbar").bounding_box()["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_wide_screen_shows_inline_links_not_the_menu(student):
    s = student(viewport={"width": 1280, "height": 800})
    page = s.page
    expect(page.locator("#nav-menu")).to_be_hidden()
    page.locator("#nav-sessions").click()
    page.wait_for_url("**/sessions")
    expect(page.locator("#create-session")).to_be_visible()
