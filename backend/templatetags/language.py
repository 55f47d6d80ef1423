"""`{% load language %}`: the page's language tag and the language switch link of base.html
(the rules themselves are `backend.middleware.LanguageMiddleware`'s)."""

from django import template
from django.utils.translation import get_language

from backend.middleware import language_switch_url, language_tag

register = template.Library()


@register.simple_tag
def html_lang() -> str:
    """The BCP 47 tag of the active language (`zh-Hans`, `en`) for `<html lang>`."""
    return language_tag(get_language())


@register.simple_tag(takes_context=True)
def switch_language_url(context: template.Context, code: str) -> str:
    """This page in language `code`: its path and query with `?lang=` set."""
    return language_switch_url(context.get("request"), code)
