"""Trust rules on incoming images (docs/design.md, "Incoming lines and trust rules"): thin
views over services.trust. Everyone in the team sees the rules and what they did; admins
add and delete them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from sharing import selectors, services
from sharing.access import AuthedRequest, team_for
from sharing.forms import TrustRuleForm
from sharing.models import Action, Channel, Role, Team, TrustRule
from sharing.services import ApplicationError, InvalidInput

RULE_HISTORY_ROWS = 20


@login_required
@require_http_methods(["GET", "POST"])
def incoming_rules(request: AuthedRequest, team_slug: str) -> HttpResponse:
    team = team_for(request, team_slug).team
    form = TrustRuleForm()
    if request.method == "POST":
        team = team_for(request, team_slug, role=Role.ADMIN).team
        form = TrustRuleForm(request.POST)
        if form.is_valid():
            try:
                rule = services.trust_rule_create(
                    team=team, actor=request.user, **form.cleaned_data
                )
            except InvalidInput as error:
                form.add_error(error.field, error.message)
            except ApplicationError as error:  # a rule for that owner and line exists
                form.add_error(None, error.message)
            else:
                messages.success(request, services.rule_summary(rule))
                return redirect("incoming_rules", team_slug=team.slug)
    return render(request, "sharing/incoming_rules.html", _context(team, form))


def _context(team: Team, form: TrustRuleForm) -> dict:
    # The rules' own entries, and the accepts they made (only rules accept as the system).
    actions = [Action.RULE_CREATE, Action.RULE_DELETE, Action.RULE_AUDIT]
    by_rules = Q(action__in=actions) | Q(action=Action.ACCEPT, channel=Channel.SYSTEM)
    entries = selectors.history_entries(team=team, filters={}).filter(by_rules)
    return {
        "rules": team.trust_rules.select_related("created_by"),
        "form": form,
        "partners": team.partners.all(),
        "entries": entries[:RULE_HISTORY_ROWS],
    }


@login_required
@require_POST
def incoming_rule_delete(request: AuthedRequest, team_slug: str, pk: int) -> HttpResponse:
    team = team_for(request, team_slug, role=Role.ADMIN).team
    rule = get_object_or_404(TrustRule, team=team, pk=pk)
    summary = services.rule_summary(rule)
    services.trust_rule_delete(rule=rule, actor=request.user)
    messages.success(request, f"Deleted. {summary} What it accepted stays accepted.")
    return redirect("incoming_rules", team_slug=team.slug)
