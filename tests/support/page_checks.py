"""WCAG 2.1 checks of a Playwright page that axe-core does not make: every control reached with Tab, in order, with a
focus that shows (2.1.1, 2.4.3, 2.4.7); form fields whose edge stands out from what surrounds them (1.4.11, 3:1);
text spacing raised without sideways scrolling or text cut off (1.4.12). Each returns what is wrong, in words
(an empty list when all is well), for a test to gather and assert.

    problems = [*await focus_walk(page), *await field_edges(page), *await text_spacing(page)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

# Colours in JavaScript: computed "rgb(…)" / "rgba(…)" read (transparent: null), WCAG contrast ratio, and the colour
# behind an element (the first ancestor with a background; white at the top).
COLOURS = """
    const rgb = (text) => {
        const found = /rgba?\\(([^)]+)\\)/.exec(text || "");
        if (!found) return null;
        const values = found[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
        return values.length > 3 && values[3] === 0 ? null : values.slice(0, 3);
    };
    const luminance = (colour) => {
        const [r, g, b] = colour.map((c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
        const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (light + 0.05) / (dark + 0.05);
    };
    const behind = (element) => {
        for (let node = element; node; node = node.parentElement) {
            const colour = rgb(getComputedStyle(node).backgroundColor);
            if (colour) return colour;
        }
        return [255, 255, 255];
    };
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
    const named = (e) => (e.labels?.[0]?.innerText || e.innerText || e.name || e.tagName).trim().split("\\n")[0];
"""
# Every control a keyboard user must reach: links, buttons, fields, visible and enabled.
CONTROLS = (
    "() => {"
    + COLOURS
    + """
    return [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]
        .filter((e) => !e.disabled && shown(e));
}"""
)
NAMES = "(controls) => {" + COLOURS + "return controls.map(named); }"
# The focused element: its place among CONTROLS, its name, whether its focus shows (an outline of at least 2 px or
# a ring, of 3:1 against the colour around the element) and lies in view.
FOCUSED = (
    "(controls) => {"
    + COLOURS
    + """
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    const around = behind(e.parentElement);
    const outline = rgb(style.outlineColor);
    const ring = style.boxShadow === "none" ? null : rgb(style.boxShadow);
    const shows = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 && outline
                   && ratio(outline, around) >= 3) || (ring && ratio(ring, around) >= 3);
    const box = e.getBoundingClientRect();
    const inView = box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
    return { index: controls.indexOf(e), name: named(e), shows: Boolean(shows), inView: inView };
}"""
)
# Fields whose edge (border, or their own background) has less than 3:1 against the colour around them.
FIELD_EDGES = (
    "() => {"
    + COLOURS
    + """
    return [...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(shown).flatMap((e) => {
        const style = getComputedStyle(e);
        const around = behind(e.parentElement);
        const border = parseFloat(style.borderTopWidth) >= 1 ? rgb(style.borderTopColor) : null;
        const best = Math.max(border ? ratio(border, around) : 1, ratio(behind(e), around));
        return best >= 3 ? [] : [`${named(e)}: ${best.toFixed(2)}:1`];
    });
}"""
)
# WCAG 1.4.12's spacing (line height 1.5, paragraphs 2 em apart, letters 0.12 em, words 0.16 em) added to the page's
# own stylesheet (through the CSSOM: the Content-Security-Policy allows no inline style), then taken off again.
TEXT_SPACING = (
    "() => {"
    + COLOURS
    + """
    const sheet = [...document.styleSheets].find((s) => s.href && new URL(s.href).origin === location.origin);
    const at = sheet.cssRules.length;
    sheet.insertRule("* { line-height: 1.5 !important; letter-spacing: 0.12em !important;"
                     + " word-spacing: 0.16em !important; }", at);
    sheet.insertRule("p, li, dt, dd, h1, h2, h3 { margin-bottom: 2em !important; }", at + 1);
    const wide = document.documentElement.scrollWidth;
    const cut = [...document.querySelectorAll("body *")].filter((e) => {
        if (!shown(e) || e.matches(".visually-hidden, input, select, option, textarea")) return false;
        const style = getComputedStyle(e);
        const clips = style.overflowX !== "visible" || style.overflowY !== "visible";
        return clips && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1);
    }).map(named);
    sheet.deleteRule(at + 1);
    sheet.deleteRule(at);
    return { wide: wide, cut: cut };
}"""
)


async def focus_walk(page: Page) -> list[str]:
    """Tab from the page as it was loaded (nothing focused yet) through all its controls: each reached, in the order
    of the page, with its focus showing and in view; Tab then leaves the page."""
    controls: Any = await page.evaluate_handle(CONTROLS)
    try:
        count: int = await controls.evaluate("all => all.length")
        names: list[str] = await controls.evaluate(NAMES)
        problems: list[str] = []
        order: list[int] = []
        for _ in range(4 * count + 4):  # a date field takes three presses (day, month, year)
            await page.keyboard.press("Tab")
            focused = await page.evaluate(FOCUSED, controls)
            if focused is not None and order and focused["index"] == order[-1]:
                continue  # another part of the same field
            if focused is None or focused["index"] in order:
                break  # past the last control, to the browser's own; or round again
            if focused["index"] < 0:
                problems.append(f"Tab stops on {focused['name']!r}, which is no link, button or field")
                continue
            order.append(focused["index"])
            if not (focused["shows"] and focused["inView"]):
                problems.append(f"the focus does not show on {focused['name']!r}")
        missed = [names[i] for i in range(count) if i not in order]
        if missed:
            problems.append(f"Tab never reaches {missed}")
        if order != sorted(order):
            problems.append(f"Tab goes out of the page's order: {[names[i] for i in order]}")
        return problems
    finally:
        await controls.dispose()


async def field_edges(page: Page) -> list[str]:
    """Form fields whose edge has less than 3:1 against what surrounds them (WCAG 1.4.11)."""
    found: list[str] = await page.evaluate(FIELD_EDGES)
    return [f"a field's edge has too little contrast: {each}" for each in found]


async def text_spacing(page: Page) -> list[str]:
    """With WCAG 1.4.12's text spacing, the page stays within the screen's width and no text is cut off."""
    result: dict[str, Any] = await page.evaluate(TEXT_SPACING)
    viewport = page.viewport_size
    assert viewport is not None
    problems = []
    if result["wide"] > viewport["width"]:
        problems.append(f"with wider text spacing, the page is {result['wide']}px wide on {viewport['width']}px")
    if result["cut"]:
        problems.append(f"with wider text spacing, text is cut off in {result['cut']}")
    return problems
