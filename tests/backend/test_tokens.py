from datetime import timedelta

import pytest
from django.utils import timezone

from backend.errors import Problem
from backend.models import ApiToken, TokenAudience, TokenFamily
from backend.tokens import (
    token_authenticate,
    token_digest,
    token_family_revoke,
    token_pair_issue,
    token_pair_refresh,
)
from tests.factories import user

pytestmark = pytest.mark.django_db
MOBILE = TokenAudience.MOBILE


def test_issued_tokens_are_stored_only_as_digests():
    pair = token_pair_issue(user=user(), audience=MOBILE, device_id="phone-1")

    stored = set(ApiToken.objects.values_list("digest", flat=True))

    assert stored == {token_digest(pair.access_token), token_digest(pair.refresh_token)}
    assert pair.access_token not in stored and len(pair.access_token) >= 43


def test_access_token_authenticates_only_for_its_audience():
    account = user()
    pair = token_pair_issue(user=account, audience=MOBILE, device_id="phone-1")

    assert token_authenticate(raw=pair.access_token, audience=MOBILE).user == account
    assert token_authenticate(raw=pair.access_token, audience=TokenAudience.BUREAU) is None
    assert token_authenticate(raw=pair.refresh_token, audience=MOBILE) is None


def test_expired_access_token_is_refused():
    pair = token_pair_issue(user=user(), audience=MOBILE, device_id="phone-1")
    ApiToken.objects.filter(digest=token_digest(pair.access_token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert token_authenticate(raw=pair.access_token, audience=MOBILE) is None


def test_refresh_rotates_the_pair_and_the_old_access_token_keeps_working_until_expiry():
    pair = token_pair_issue(user=user(), audience=MOBILE, device_id="phone-1")

    new = token_pair_refresh(raw_refresh=pair.refresh_token, audience=MOBILE)

    assert new.refresh_token != pair.refresh_token and new.family_id == pair.family_id
    assert token_authenticate(raw=new.access_token, audience=MOBILE) is not None


def test_reusing_a_refresh_token_revokes_the_whole_family():
    pair = token_pair_issue(user=user(), audience=MOBILE, device_id="phone-1")
    new = token_pair_refresh(raw_refresh=pair.refresh_token, audience=MOBILE)

    with pytest.raises(Problem) as exc:
        token_pair_refresh(raw_refresh=pair.refresh_token, audience=MOBILE)

    assert (exc.value.status, exc.value.code) == (401, "refresh_token_reused")
    assert TokenFamily.objects.get(id=pair.family_id).revoked_reason == "refresh_reuse"
    assert token_authenticate(raw=new.access_token, audience=MOBILE) is None
    with pytest.raises(Problem):
        token_pair_refresh(raw_refresh=new.refresh_token, audience=MOBILE)


def test_logout_revokes_only_that_device():
    account = user()
    phone = token_pair_issue(user=account, audience=MOBILE, device_id="phone-1")
    tablet = token_pair_issue(user=account, audience=MOBILE, device_id="tablet-1")

    token_family_revoke(family=TokenFamily.objects.get(id=phone.family_id))

    assert token_authenticate(raw=phone.access_token, audience=MOBILE) is None
    assert token_authenticate(raw=tablet.access_token, audience=MOBILE) is not None


def test_a_new_sign_in_on_the_same_device_ends_the_previous_one():
    account = user()
    first = token_pair_issue(user=account, audience=MOBILE, device_id="phone-1")
    token_pair_issue(user=account, audience=MOBILE, device_id="phone-1")

    assert token_authenticate(raw=first.access_token, audience=MOBILE) is None


def test_deactivated_user_cannot_authenticate_or_refresh():
    account = user()
    pair = token_pair_issue(user=account, audience=MOBILE, device_id="phone-1")
    account.is_active = False
    account.save(update_fields=["is_active"])

    assert token_authenticate(raw=pair.access_token, audience=MOBILE) is None
    with pytest.raises(Problem):
        token_pair_refresh(raw_refresh=pair.refresh_token, audience=MOBILE)
