# Ward's bundled gate policy (package ward.gate). Teams add rules in their own
# policies/*.rego in the same package: `deny contains reason if { … }` rules add up.
#
# Input: the gate input document (docs/gate-input.schema.json, version ward.gate.input/v1).
# Data:  data.controls — the required controls per tier from ward.toml [controls].
# Time comes only from input.now_secs; nothing here reaches the network.
package ward.gate

import rego.v1

tier := input.change.tier

# The change's id, for fixes people can paste.
cid := object.get(input.change, "id", "ID")

controls := data.controls.tiers[tier]

# ---- evidence -------------------------------------------------------------------------

evidence_ok("tests_passed") if {
	some a in input.evidence
	a.type == "junit"
	a.summary.tests > 0
	a.summary.failed == 0
	a.summary.errored == 0
}

evidence_ok("no_critical_sast") if {
	some a in input.evidence
	a.type == "sarif"
	not critical_sast
}

evidence_ok("sbom") if {
	some a in input.evidence
	a.type in {"cyclonedx", "spdx"}
}

evidence_ok("provenance") if {
	some a in input.evidence
	a.type == "intoto"
	a.summary.provenance
}

evidence_ok("rollback_plan") if {
	some a in input.evidence
	a.type == "custom"
	a.summary.type_name == "rollback-plan"
}

evidence_ok("vulnerability_scan") if {
	some a in input.evidence
	a.type == "vulns"
}

critical_sast if {
	some a in input.evidence
	a.type == "sarif"
	a.summary.by_severity.critical > 0
}

evidence_fix := {
	"tests_passed": "attach a passing JUnit report: ward attest add --artifact DIGEST report.xml",
	"no_critical_sast": "attach a SARIF scan without critical findings (fix them first)",
	"sbom": "attach a CycloneDX or SPDX SBOM",
	"provenance": "attach SLSA provenance signed by a trusted builder key (ward key trust)",
	"rollback_plan": "attach a rollback plan: ward attest add --type custom:rollback-plan plan.json",
	"vulnerability_scan": "attach a Trivy, Grype or osv-scanner report",
}

deny contains r if {
	some kind in controls.evidence
	not evidence_ok(kind)
	r := {
		"rule": sprintf("evidence.%s", [kind]),
		"message": sprintf("%s changes need evidence %q", [tier, kind]),
		"fix": object.get(evidence_fix, kind, "attach the evidence"),
	}
}

# ---- approvals ------------------------------------------------------------------------

current_approvals := [a | some a in input.approvals; a.decision == "approved"; not a.stale]

approvers := {a.signer | some a in current_approvals}

deny contains r if {
	count(approvers) < controls.approvals
	r := {
		"rule": "approvals.quorum",
		"message": sprintf("%s changes need %d approvals by distinct people; %d current", [tier, controls.approvals, count(approvers)]),
		"fix": sprintf("ask approvers to sign: ward approve --change %s --meaning approved", [cid]),
	}
}

deny contains r if {
	some role, n in object.get(controls, "roles", {})
	have := count({a.signer | some a in current_approvals; role in object.get(a, "roles", [])})
	have < n
	r := {
		"rule": sprintf("approvals.role.%s", [role]),
		"message": sprintf("%s changes need %d approval(s) by a %s; %d current", [tier, n, role, have]),
		"fix": sprintf("ask a %s to sign: ward approve --change %s --meaning release-authority", [role, cid]),
	}
}

# Whoever moves the change (asks the gate) cannot be its only approver.
deny contains r if {
	count(approvers) == 1
	input.requested_by in approvers
	r := {
		"rule": "approvals.requester_sole_approver",
		"message": sprintf("%s asks to move this change and is its only approver", [input.requested_by]),
		"fix": "another person must approve as well",
	}
}

deny contains r if {
	some a in input.approvals
	a.decision == "rejected"
	not a.stale
	r := {
		"rule": "approvals.rejected",
		"message": sprintf("%s rejected it (%s): %s", [a.printed_name, a.meaning, a.comment]),
		"fix": "address the rejection; a new manifest makes it stale, then sign again",
	}
}

# ---- checklist ------------------------------------------------------------------------

checklist contains item if {
	some tag, items in data.controls.checklist
	tag in input.change.tags
	some item in items
}

deny contains r if {
	some item in checklist
	not signed_meaning(item)
	r := {
		"rule": sprintf("checklist.%s", [item]),
		"message": sprintf("checklist item %q is not signed", [item]),
		"fix": sprintf("ward approve --change %s --meaning %s", [cid, item]),
	}
}

signed_meaning(m) if {
	some a in current_approvals
	a.meaning == m
}

# ---- security thresholds and patch SLAs -----------------------------------------------

deny contains r if {
	"internet_facing" in input.change.tags
	critical_sast
	r := {
		"rule": "security.critical_finding_internet_facing",
		"message": "a critical SAST finding blocks an internet-facing change",
		"fix": "fix the finding (or suppress it in the scanner with a justification) and attach a new scan",
	}
}

sla_secs := {"critical": 259200, "high": 2592000, "medium": 7776000}

deny contains r if {
	some v in input.vulnerabilities
	v.open
	limit := sla_secs[v.severity]
	age := input.now_secs - v.first_seen_secs
	age > limit
	r := {
		"rule": sprintf("sla.%s", [v.severity]),
		"message": sprintf("%s in %s (%s) has been open %v days, past the %v-day SLA", [v.id, v.package, v.severity, floor(age / 86400), floor(limit / 86400)]),
		"fix": "upgrade the package, or record a VEX statement that it is not affected",
		"finding": v.id,
		"artifact": object.get(v, "artifact", null),
	}
}

# ---- change windows and freezes (computed by Ward from [calendar] at input.now) --------

deny contains r if {
	input.calendar.windows_apply
	not input.calendar.in_window
	input.change.kind != "emergency"
	r := {
		"rule": "calendar.outside_window",
		"message": sprintf("%s is outside every change window declared for it", [input.environment]),
		"fix": "wait for the next window (see [calendar] in ward.toml); only emergency changes may go outside windows",
	}
}

deny contains r if {
	some name in input.calendar.freezes
	r := {
		"rule": "calendar.freeze",
		"message": sprintf("%s is frozen (%s)", [input.environment, name]),
		"fix": "wait until the freeze ends",
	}
}

# ---- environment ----------------------------------------------------------------------

deny contains r if {
	count(input.change.environments) > 0
	not input.environment in input.change.environments
	r := {
		"rule": "environment.not_targeted",
		"message": sprintf("the change targets %v, not %s", [input.change.environments, input.environment]),
		"fix": "open a change that names this environment (--env)",
	}
}

# ---- promotion order (computed by Ward from [[environments]] and deployment records) -----

# A tier may let changes skip the preceding environment: [controls.tiers.T] may_skip_environments.
may_skip_environments if controls.may_skip_environments == true

deny contains r if {
	some d in object.get(object.get(input, "promotion", {}), "not_in_previous", [])
	not may_skip_environments
	prev := input.promotion.previous
	r := {
		"rule": "promotion.previous_environment",
		"message": sprintf("%s has not been deployed and verified in %s, which comes before %s", [d, prev, input.environment]),
		"fix": sprintf("promote it to %s first: ward promote --change %s --to %s", [prev, cid, prev]),
		"artifact": d,
	}
}

deny contains r if {
	pending := object.get(object.get(input, "promotion", {}), "earlier_rings_pending", [])
	count(pending) > 0
	first := pending[0]
	tenants := sort({p.tenant | some p in pending})
	r := {
		"rule": "promotion.ring_order",
		"message": sprintf("ring %s comes first: %s not yet running this release", [first.ring, concat(", ", tenants)]),
		"fix": sprintf("promote ring %s first: ward promote --change %s --to %s --ring %s", [first.ring, cid, input.environment, first.ring]),
	}
}

# ---- waivers and break-glass (active ones only: expired ones fail closed) --------------

# A waiver covers a reason when it names the rule (or a prefix ending in "."), and — when it
# is scoped to a finding — the reason is about that finding.
covers(w, r) if {
	some rule in w.rules
	rule_matches(rule, r.rule)
	finding_ok(w, r)
	artifact_ok(w, r)
}

finding_ok(w, _) if object.get(w, "finding", null) == null

finding_ok(w, r) if {
	w.finding != null
	w.finding == r.finding
}

artifact_ok(w, _) if object.get(w, "artifact", null) == null

artifact_ok(w, r) if {
	w.artifact != null
	w.artifact == r.artifact
}

rule_matches(pattern, rule) if pattern == rule

rule_matches(prefix, rule) if {
	endswith(prefix, ".")
	startswith(rule, prefix)
}

waived contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": w.id} if {
	some r in deny
	some w in input.waivers
	w.active
	covers(w, r)
}

bypassed contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": b.id} if {
	input.change.kind == "emergency"
	some r in deny
	some b in input.breakglass
	b.active
	some rule in b.rules
	rule_matches(rule, r.rule)
}

excused := {x.rule | some x in waived} | {x.rule | some x in bypassed}

blocking := {r | some r in deny; not r.rule in excused}

# ---- the decision ---------------------------------------------------------------------

default allow := false

allow if count(blocking) == 0

decision := {"allow": allow, "deny": blocking, "waived": waived | bypassed}
