"""Trust rules: the consumer's side of image lines (docs/design.md, "Incoming lines and trust
rules").

A rule names an owner tenant (and, optionally, one of its lines by the `image_line` property
the owner's dashboard writes) and a mode. The sync looks at the images shared with the team
that are still `pending`: the first time it sees one it says so (`incoming.received`); then a
matching rule in `audit` records that it would accept it, and one in `enforce` accepts it
through the same ledgered path as a person's *Accept*, as the system, with the rule named.
A deprecated version is never accepted by a rule, and no rule accepts from an owner it does
not name. Each image is acted on once per mode, whatever the number of workers: a
conditional UPDATE of its `IncomingImage` row claims it first.
"""

from collections import Counter

from django.contrib.auth.models import User
from django.core.validators import slug_re
from django.db import IntegrityError, transaction
from django.utils import timezone

from sharing.cloud import CloudError, Image, validate_tenant_id
from sharing.clouds import client_for
from sharing.models import Action, IncomingImage, RuleMode, Team, TrustRule
from sharing.webhooks import outbox

from .errors import ApplicationError
from .incoming import incoming_set_status
from .ledger import ledger_record
from .lines import P_LINE, P_STATE, InvalidInput


class RuleExists(ApplicationError):
    """A rule for the same owner and line exists (in either mode): a conflict, not bad input."""


# How many pending images one region's pass looks at, at most (one list call per page).
PENDING_LIST_PAGE = 200


def rule_summary(rule: TrustRule) -> str:
    """What a rule does, for the ledger and the pages."""
    which = f"line {rule.line}" if rule.line else "every image"
    return f"Trust rule #{rule.pk} ({rule.mode}): accept {which} from {rule.owner}."


# Rules


def trust_rule_create(
    *, team: Team, actor: User | None, owner: str, line: str = "", mode: str
) -> TrustRule:
    """A new rule, ledgered. Bad input raises `InvalidInput` (naming the field), a duplicate
    `RuleExists`; either way nothing is made."""
    owner, line = _checked_owner(team, owner), _checked_line(line)
    if mode not in RuleMode.values:
        raise InvalidInput("mode", "Pick audit or enforce.")
    rule = TrustRule(team=team, owner=owner, line=line, mode=mode, created_by=actor)
    try:
        with transaction.atomic():
            rule.save()
            ledger_record(
                team=team, actor=actor, action=Action.RULE_CREATE, tenant=owner,
                note=rule_summary(rule),
            )  # fmt: skip
    except IntegrityError:
        which = f"line {line} of {owner}" if line else f"every image of {owner}"
        raise RuleExists(f"A rule for {which} exists already; delete it first.") from None
    return rule


def _checked_owner(team: Team, owner: str) -> str:
    try:
        owner = validate_tenant_id(owner, team.tenant_format)
    except ValueError as error:
        raise InvalidInput("owner", str(error)) from None
    if owner == team.tenant_id:
        raise InvalidInput("owner", f"{owner} is this team's own account: pick another owner.")
    return owner


def _checked_line(line: str) -> str:
    line = line.strip()
    if line and (len(line) > 50 or not slug_re.fullmatch(line)):
        raise InvalidInput(
            "line", "A line is a slug: letters, digits, - and _ only, at most 50 characters."
        )
    return line


def trust_rule_delete(*, rule: TrustRule, actor: User | None) -> None:
    """Delete a rule, ledgered; what it accepted stays accepted."""
    with transaction.atomic():
        summary = rule_summary(rule)
        TrustRule.objects.filter(pk=rule.pk).delete()
        ledger_record(
            team=rule.team, actor=actor, action=Action.RULE_DELETE, tenant=rule.owner,
            note=summary,
        )  # fmt: skip


# The sync's pass


def incoming_sync(*, team: Team) -> Counter[str]:
    """Pending images shared with the team, per region: announce the new ones, then apply the
    rules. Counts per kind of change; a region the cloud did not list is `unreachable`."""
    counts: Counter[str] = Counter()
    rules = list(team.trust_rules.all())
    for region in team.regions or [team.default_region]:
        if not region:
            continue
        try:
            client = client_for(team, region)
            pending = [
                image
                for image in client.iter_images(
                    visibility="shared", member_status="pending", limit=PENDING_LIST_PAGE
                )
                if image.owner != client.tenant_id  # our own shared images are listed too
            ]
        except CloudError:
            counts["unreachable"] += 1
            continue
        for image in pending:
            counts.update(_incoming_image(team, region, image, rules))
    return counts


def _incoming_image(team: Team, region: str, image: Image, rules: list[TrustRule]) -> Counter[str]:
    counts: Counter[str] = Counter()
    record = _seen(team, region, image)
    if record is None:
        record = IncomingImage.objects.get(team=team, region=region, image_id=image.id)
    else:
        counts["received"] += 1
    rule = rule_for(rules, image)
    if rule is None:
        return counts
    if rule.mode == RuleMode.ENFORCE:
        counts[_enforce(team, region, image, rule, record)] += 1
    elif _claim(record, "audited_at"):
        _audit(team, region, image, rule)
        counts["audited"] += 1
    return counts


def _seen(team: Team, region: str, image: Image) -> IncomingImage | None:
    """The image's record and its `incoming.received` event, committed together; None when
    it was seen before (by this worker or another)."""
    try:
        with transaction.atomic():
            record = IncomingImage.objects.create(
                team=team, region=region, image_id=image.id, owner=image.owner or ""
            )
            outbox.incoming_received(team=team, region=region, image=image)
    except IntegrityError:
        return None
    return record


def rule_for(rules: list[TrustRule], image: Image) -> TrustRule | None:
    """The rule that applies to a pending image: one naming its owner, and its line or none;
    `enforce` before `audit`, a line's rule before an owner-wide one. None for a deprecated
    version: no rule accepts one."""
    if image.properties.get(P_STATE) == "deprecated" or not image.owner:
        return None
    line = image.properties.get(P_LINE, "")
    matching = [r for r in rules if r.owner == image.owner and r.line in ("", line)]
    matching.sort(key=lambda r: (r.mode != RuleMode.ENFORCE, r.line == ""))
    return matching[0] if matching else None


def _claim(record: IncomingImage, field: str) -> bool:
    """Whether this worker claimed `field` first (a conditional UPDATE: one wins)."""
    claimed = IncomingImage.objects.filter(pk=record.pk, **{field: None})
    return bool(claimed.update(**{field: timezone.now()}))


def _audit(team: Team, region: str, image: Image, rule: TrustRule) -> None:
    ledger_record(
        team=team, actor=None, action=Action.RULE_AUDIT, region=region, image_id=image.id,
        image_name=image.name, tenant=team.tenant_id,
        note=f"{rule_summary(rule)} It would have accepted this image from {image.owner}.",
    )  # fmt: skip


def _enforce(team: Team, region: str, image: Image, rule: TrustRule, record: IncomingImage) -> str:
    if not _claim(record, "accept_claimed_at"):
        return "unchanged"  # another worker accepts it (or did)
    try:
        incoming_set_status(
            team=team, actor=None, region=region, image_id=image.id, status="accepted",
            note=rule_summary(rule),
        )  # fmt: skip
    except CloudError:
        # Recorded as failed (or unknown) in the ledger; the next run tries again.
        IncomingImage.objects.filter(pk=record.pk).update(accept_claimed_at=None)
        return "accept failed"
    return "accepted by rule"
