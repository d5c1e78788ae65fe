# Ward's bundled gate policy (package ward.gate). Teams add rules in their own
# policies/*.rego in the same package: `deny contains reason if { … }` rules add up.
#
# Input: the gate input document (docs/gate-input.schema.json, version ward.gate.input/v1).
# Data:  data.controls — the effective controls from ward.toml [controls] (every tier present:
#        what a tier does not name comes from the built-in defaults; see ward_server::gate).
# Time comes only from input.now_secs; nothing here reaches the network.
#
# Fail closed: a tier without controls in data denies (controls.missing); a reason is excused
# only by what names it exactly (see "waivers and break-glass" below).
package ward.gate

import rego.v1

change := object.get(input, "change", {})

tier := object.get(change, "tier", "(none)")

# The change's id, for the actions that satisfy a reason.
cid := object.get(change, "id", "ID")

controls := data.controls.tiers[tier]

evidence := object.get(input, "evidence", [])

deny contains r if {
	not data.controls.tiers[tier]
	r := {
		"rule": "controls.missing",
		"message": sprintf("no controls are configured for tier %q: nothing this change needs can be checked", [tier]),
		"fix": "declare the tier under [controls.tiers] in ward.toml, then read the effective controls",
		"action": {"do": "check_config"},
	}
}

# ---- evidence, per artifact -----------------------------------------------------------

# Required evidence is checked for each artifact the change ships (the change itself when it
# ships none). Evidence attached to the change id counts for every artifact.
subjects := s if {
	s := {d | some d in object.get(change, "artifacts", [])}
	count(s) > 0
} else := {cid}

about(a, d) if a.artifact == d

# The action that attaches `file` (of `kind`, "" when detected) where evidence about `d` goes:
# the change itself (a change without artifacts, or evidence about the whole change) or one
# artifact. Every fix says in words what to attach; the action says where.
attest(d, kind, file) := object.union(target(d), typed(kind, file))

target(d) := {"do": "attest", "change": d} if {
	d == cid
} else := {"do": "attest", "artifact": d}

typed("", file) := {"file": file}

typed(kind, file) := {"type": kind, "file": file} if kind != ""

about(a, _) if a.artifact == cid

# Two reports are of the same suite when they are about the same artifact (or the same change),
# have the same type, name the same (non-empty) set of test suites and were attached by the same
# identity (the same tool run by the same pipeline). The later one (log order) supersedes.
# The set of suites is compared by `suite_key` (a keyed fingerprint of the sorted names: the
# names themselves live beside the log), or by the names inline in older entries.
same_suite(a, b) if {
	a.type == b.type
	a.artifact == b.artifact
	a.added_by == b.added_by
	suite_identity(a) == suite_identity(b)
}

suite_identity(a) := key if {
	key := object.get(a.summary, "suite_key", "")
	key != ""
} else := names if {
	names := object.get(a.summary, "suite_names", [])
	count(names) > 0
}

superseded(a) if {
	some b in evidence
	same_suite(a, b)
	b.seq > a.seq
}

# A passing report ran tests and at least one passed: a report whose every test was skipped
# proves nothing.
junit_passing(a) if {
	a.type == "junit"
	a.summary.tests > 0
	a.summary.passed > 0
	a.summary.failed == 0
	a.summary.errored == 0
}

junit_failing(a) if {
	a.type == "junit"
	a.summary.failed > 0
}

junit_failing(a) if {
	a.type == "junit"
	a.summary.errored > 0
}

# Evidence `kind` about `d` is present when some attestation about it meets the kind (the
# attestations that do are what `satisfied` names).
evidence_ok(kind, d) if {
	some a in evidence
	about(a, d)
	meets(kind, a, d)
}

meets("tests_passed", a, _) if {
	junit_passing(a)
	not superseded(a)
}

meets("no_critical_sast", a, d) if {
	a.type == "sarif"
	not critical_sast_about(d)
}

meets("sbom", a, _) if a.type in {"cyclonedx", "spdx"}

# Provenance: a statement about the artifact (not a link that only consumed it as a material).
meets("provenance", a, _) if {
	a.type == "intoto"
	provenance_given(a.summary)
	object.get(a.summary, "artifact_role", "subject") != "material"
}

# The parser's SLSA facts (an object), or `true` in hand-written inputs.
provenance_given(s) if is_object(s.provenance)

provenance_given(s) if s.provenance == true

meets("rollback_plan", a, _) if {
	a.type == "custom"
	a.summary.type_name == "rollback-plan"
}

# A scan that could not audit what it was given (incomplete) satisfies nothing.
meets("vulnerability_scan", a, _) if {
	a.type == "vulns"
	object.get(a.summary, "incomplete", false) != true
}

# A critical SAST finding on an artifact stays: a later scan of the same digest scans the same
# code, so a clean one can only be narrower (fewer rules, paths, a crashed run), never proof of
# a fix. The fix ships as a new build (its own digest and scans), or an approver waives it.
critical_sarif(a) if {
	a.type == "sarif"
	a.summary.by_severity.critical > 0
}

critical_sast_about(d) if {
	some a in evidence
	about(a, d)
	critical_sarif(a)
}

critical_sast if {
	some a in evidence
	critical_sarif(a)
}

# What to attach for each kind of required evidence: the words, the type ("" when Ward detects
# it) and an example file name.
evidence_fix := {
	"tests_passed": ["attach a passing JUnit report", "", "report.xml"],
	"no_critical_sast": ["attach a SARIF scan without critical findings (fix them first)", "", "scan.sarif"],
	"sbom": ["attach a CycloneDX or SPDX SBOM", "", "sbom.json"],
	"provenance": ["attach SLSA provenance signed by a trusted builder key", "", "provenance.json"],
	"rollback_plan": ["attach a rollback plan, a JSON document of the built-in type rollback-plan (steps, tested_on)", "custom:rollback-plan", "plan.json"],
	"vulnerability_scan": ["attach a complete Trivy, Grype or osv-scanner report", "", "scan.json"],
}

deny contains r if {
	some kind in object.get(controls, "evidence", [])
	some d in subjects
	not evidence_ok(kind, d)
	not found_against(kind, d)
	how := object.get(evidence_fix, kind, [sprintf("attach the evidence %q", [kind]), "", "FILE"])
	r := {
		"rule": sprintf("evidence.%s", [kind]),
		"message": sprintf("%s changes need evidence %q for each artifact; %s has none", [tier, kind, d]),
		"fix": how[0],
		"action": attest(d, how[1], how[2]),
		"artifact": d,
	}
}

# Evidence that is missing because a report found what the kind forbids is named with that
# report (below), not as "none".
found_against("no_critical_sast", d) if critical_sast_about(d)

deny contains r if {
	"no_critical_sast" in object.get(controls, "evidence", [])
	some a in evidence
	critical_sarif(a)
	some d in subjects
	about(a, d)
	r := {
		"rule": "evidence.no_critical_sast",
		"message": sprintf("SARIF scan %s (%s) on %s has %v critical findings", [object.get(a, "file_name", "?"), object.get(a, "id", "?"), d, a.summary.by_severity.critical]),
		"fix": "fix the finding in the code and ship the fixed build (register it, put it in the change, attach its scans); suppress a false positive in the scanner with a justification, in a new build; or an approver waives the rule for this change",
		"artifact": d,
	}
}

# A failing test report blocks until a later report of the same suite supersedes it.
deny contains r if {
	some a in evidence
	junit_failing(a)
	not superseded(a)
	r := {
		"rule": "evidence.tests_failed",
		"message": sprintf("test report %s (%s) on %s has %v failed and %v errored tests", [object.get(a, "file_name", "?"), object.get(a, "id", "?"), a.artifact, a.summary.failed, a.summary.errored]),
		"fix": "fix the tests, then attach a new report of the same suites from the same pipeline (it supersedes this one)",
		"action": attest(a.artifact, "", "report.xml"),
		"artifact": a.artifact,
	}
}

# Named in-toto steps ([controls.tiers.T] steps): a link of that step about each artifact.
step_ok(s, d) if {
	some a in evidence
	about(a, d)
	a.type == "intoto"
	object.get(a.summary, "step", null) == s
}

deny contains r if {
	some s in object.get(controls, "steps", [])
	some d in subjects
	not step_ok(s, d)
	r := {
		"rule": sprintf("evidence.step.%s", [s]),
		"message": sprintf("%s changes need a signed in-toto link of step %q for each artifact; %s has none", [tier, s, d]),
		"fix": sprintf("attach the signed in-toto link of step %s (recorded by in-toto-run)", [s]),
		"action": attest(d, "", sprintf("%s.link", [s])),
		"artifact": d,
	}
}

# ---- ticket ---------------------------------------------------------------------------

has_ticket if {
	t := object.get(change, "ticket_url", null)
	is_string(t)
	trim_space(t) != ""
}

deny contains r if {
	object.get(controls, "ticket", false) == true
	not has_ticket
	r := {
		"rule": "change.ticket_missing",
		"message": sprintf("%s changes need a ticket; %s has none", [tier, cid]),
		"fix": "give the change its ticket",
		"action": {"do": "set_ticket", "change": cid},
	}
}

# ---- approvals ------------------------------------------------------------------------

current_approvals := [a | some a in object.get(input, "approvals", []); a.decision == "approved"; not a.stale]

# Distinct people whose current approval counts toward the quorum: a sign-off only some roles
# give (`quorum: false`, e.g. a privacy officer's privacy review) is not an approval. Inputs
# without the field count every approval, as they always did.
quorum_approvals := [a | some a in current_approvals; object.get(a, "quorum", true) != false]

# A person counts once however their identity is spelled: the input gives each signer's
# `person` (Ward's reading of who they are: `user:bob` and `user:bob.` are one person, as the
# separation of duties reads them; a helper's attack on the twelfth session's head counted them
# as two approvers). Inputs without the field count each signer as written, as they always did.
person(a) := object.get(a, "person", a.signer)

approvers := {person(a) | some a in quorum_approvals}

deny contains r if {
	need := object.get(controls, "approvals", 1)
	count(approvers) < need
	r := {
		"rule": "approvals.quorum",
		"message": sprintf("%s changes need %d approvals by distinct people; %d current", [tier, need, count(approvers)]),
		"fix": "ask approvers to sign it, meaning approved",
		"action": {"do": "approve", "change": cid, "meaning": "approved"},
	}
}

deny contains r if {
	some role, n in object.get(controls, "roles", {})
	have := count({person(a) | some a in current_approvals; role in object.get(a, "roles", [])})
	have < n
	r := {
		"rule": sprintf("approvals.role.%s", [role]),
		"message": sprintf("%s changes need %d approval(s) by a %s; %d current", [tier, n, role, have]),
		"fix": sprintf("ask a %s to sign it, meaning release-authority", [role]),
		"action": {"do": "approve", "change": cid, "meaning": "release-authority"},
	}
}

# Whoever moves the change (asks the gate) cannot be its only approver.
requester_sole_approver if {
	count(approvers) == 1
	object.get(input, "requested_by_person", input.requested_by) in approvers
}

deny contains r if {
	requester_sole_approver
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
		"fix": sprintf("sign it, meaning %s", [item]),
		"action": {"do": "approve", "change": cid, "meaning": item},
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

vulnerabilities := object.get(input, "vulnerabilities", [])

# Open critical findings block at once; an approver may waive one finding (with an expiry).
deny contains r if {
	some v in vulnerabilities
	v.open == true
	v.severity == "critical"
	art := object.get(v, "artifact", null)
	r := {
		"rule": "vulnerabilities.critical_open",
		"message": sprintf("%s in %s (critical) is open on %v", [v.id, v.package, art]),
		"fix": "upgrade the package or record a VEX statement that it is not affected, then attach a new scan; or an approver waives this one finding",
		"action": {"do": "waive_finding", "change": cid, "rule": "vulnerabilities.critical_open", "finding": v.id},
		"finding": v.id,
		"artifact": art,
	}
}

# High, medium and low findings follow the SLA clock from first seen ([controls.sla], hours).
sla_hours := object.get(data.controls, "sla", {"high": 72, "medium": 720, "low": 2160})

deny contains r if {
	some v in vulnerabilities
	v.open == true
	hours := sla_hours[v.severity]
	age := input.now_secs - v.first_seen_secs
	age > hours * 3600
	art := object.get(v, "artifact", null)
	r := {
		"rule": sprintf("sla.%s", [v.severity]),
		"message": sprintf("%s in %s (%s) on %v has been open %v hours, past the %v-hour SLA", [v.id, v.package, v.severity, art, floor(age / 3600), hours]),
		"fix": "upgrade the package, or record a VEX statement that it is not affected",
		"finding": v.id,
		"artifact": art,
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
		"message": sprintf("%s is frozen (%s)%s", [input.environment, name, freeze_said("until", name)]),
		"fix": sprintf("wait until the freeze ends%s", [freeze_said("at", name)]),
	}
}

# When a freeze in force ends, in UTC and in its own zone (an input recorded before Ward gave
# the end has none: then nothing is said).
freeze_end(name) := sprintf("%s (%s)", [e.until, e.local]) if {
	some e in object.get(input.calendar, "freeze_ends", [])
	e.name == name
}

freeze_said(word, name) := sprintf(" %s %s", [word, freeze_end(name)]) if freeze_end(name)

else := ""

# ---- error budgets (computed by Ward from [[slo]] and Prometheus at input.now) ----------

# A service burning its error budget is frozen in the objective's environments; a budget that
# cannot be read blocks too (fail closed). Emergency changes pass, marked in the decision's
# `waived` list with "emergency" as what excused them.
slo_reason(s) := {
	"rule": "slo.error_budget",
	"message": s.reason,
	"fix": "restore the service's reliability first (the burn must stop in the short window), or open an emergency change",
	"finding": s.service,
} if s.state == "burning"

slo_reason(s) := {
	"rule": "slo.unknown",
	"message": s.reason,
	"fix": "make the [[slo]] query answer (check prometheus and the query: the objectives' state shows both), or open an emergency change",
	"action": {"do": "show_slo"},
	"finding": s.service,
} if s.state == "unknown"

slo_states := object.get(input, "slo", [])

deny contains slo_reason(s) if {
	some s in slo_states
	s.state != "ok"
}

emergency_slo(r) if {
	object.get(change, "kind", "") == "emergency"
	startswith(r.rule, "slo.")
}

# ---- disaster-recovery readiness (computed by Ward from [[services]] and the log at input.now)

# Each gap of each of the change's services in the inventory blocks: a store without a backup,
# a backup older than the RPO, a restore test too old or slower than the RTO, and before a
# high-risk change a stale rollback drill. The message names the store and the age. Emergency
# changes pass (restoring service comes first), marked in `waived` with "emergency".
dr_states := object.get(input, "dr", [])

deny contains {
	"rule": "dr.readiness",
	"message": sprintf("%s: %s", [s.service, g.reason]),
	"fix": dr_fix(g.rule),
	"action": dr_action(g),
	"finding": sprintf("%s/%s", [s.service, object.get(g, "store", "rollback-drill")]),
} if {
	some s in dr_states
	some g in s.gaps
}

dr_fix("dr.backup_missing") := "back the store up and attach the tool's report (type dr:pgbackrest, dr:velero or dr:aws-backup), or fix its id in [[services]] stores"

dr_fix("dr.rpo") := "take a backup now and attach the tool's report (type dr:pgbackrest, dr:velero or dr:aws-backup)"

dr_fix("dr.restore_test") := "restore the store somewhere safe, check it, and record the restore test"

dr_fix("dr.rto") := "make the restore fast enough for the RTO (or revisit the RTO), then record a new restore test"

dr_fix("dr.rollback_drill") := "run a rollback drill in this environment before a high-risk change"

dr_fix(rule) := "read the services' disaster-recovery readiness" if not rule in {"dr.backup_missing", "dr.rpo", "dr.restore_test", "dr.rto", "dr.rollback_drill"}

dr_action(g) := {"do": "attest", "type": "dr:TOOL", "file": "FILE"} if g.rule in {"dr.backup_missing", "dr.rpo"}

dr_action(g) := {"do": "record_restore_test", "store": object.get(g, "store", "STORE")} if g.rule in {"dr.restore_test", "dr.rto"}

dr_action(g) := {"do": "drill_rollback", "environment": input.environment} if g.rule == "dr.rollback_drill"

dr_action(g) := {"do": "show_dr"} if not g.rule in {"dr.backup_missing", "dr.rpo", "dr.restore_test", "dr.rto", "dr.rollback_drill"}

emergency_dr(r) if {
	object.get(change, "kind", "") == "emergency"
	r.rule == "dr.readiness"
}

# ---- environment ----------------------------------------------------------------------

deny contains r if {
	count(input.change.environments) > 0
	not input.environment in input.change.environments
	r := {
		"rule": "environment.not_targeted",
		"message": sprintf("the change targets %v, not %s", [input.change.environments, input.environment]),
		"fix": sprintf("retarget the change to %s as well (its signatures become stale)", [input.environment]),
		"action": {"do": "retarget", "change": cid, "environments": array.concat(input.change.environments, [input.environment])},
	}
}

# ---- one version, one build -------------------------------------------------------------

deny contains r if {
	some a in object.get(input, "artifacts_rebound", [])
	not object.get(input, "environment_accepts_rebound", false)
	r := {
		"rule": "artifacts.version_rebound",
		"artifact": a.artifact,
		"message": sprintf("%s %s is registered under more than one digest (also %s): %s accepts only versions that name one build", [a.service, a.version, a.other_digest, input.environment]),
		"fix": "give the build its own version and register it; only an environment before the last may accept moving pre-releases ([[environments]] mutable_prerelease = true)",
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
		"fix": sprintf("promote %s to %s first", [cid, prev]),
		"action": {"do": "promote", "change": cid, "environment": prev},
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
		"fix": sprintf("promote %s to %s ring %s first", [cid, input.environment, first.ring]),
		"action": {"do": "promote", "change": cid, "environment": input.environment, "ring": first.ring},
	}
}

# ---- waivers and break-glass (active ones only: expired ones fail closed) --------------

waivers := object.get(input, "waivers", [])

breakglass := object.get(input, "breakglass", [])

# Rules about who must sign are never waived: only break-glass on an emergency change bypasses
# them (approvals.*, checklist.*, and separation-of-duties rules: approvals.requester_sole_approver
# and any rule under separation.*). Configuration errors are never excused at all.
signing_rule(rule) if startswith(rule, "approvals.")

signing_rule(rule) if startswith(rule, "checklist.")

signing_rule(rule) if startswith(rule, "separation.")

unexcusable(rule) if startswith(rule, "controls.")

# A version that was registered under two digests names no single build: only an environment
# that declares `mutable_prerelease = true` (never the last of a chain) accepts it.
unexcusable(rule) if rule == "artifacts.version_rebound"

waivable(r) if {
	not signing_rule(r.rule)
	not unexcusable(r.rule)
}

# A waiver covers a reason when it names the rule (or a prefix ending in "."), and — when it
# is scoped to a finding or an artifact — the reason is about that finding / that artifact.
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

# Open critical findings are waived only one finding at a time.
scope_ok(_, r) if r.rule != "vulnerabilities.critical_open"

scope_ok(w, r) if {
	r.rule == "vulnerabilities.critical_open"
	object.get(w, "finding", null) != null
}

excuses(w, r) if {
	w.active == true
	waivable(r)
	covers(w, r)
	scope_ok(w, r)
}

# Waiving an evidence.* reason needs waivers from that many distinct approvers
# ([controls.tiers.T] evidence_waiver_approvers); anything else one. Never fewer than one.
waiver_approvers_needed(r) := n if {
	startswith(r.rule, "evidence.")
	n := max({1, object.get(controls, "evidence_waiver_approvers", 1)})
} else := 1

waived_reason(r) if {
	approvers := {object.get(w, "approver_person", w.approver) | some w in waivers; excuses(w, r); is_string(w.approver)}
	count(approvers) >= waiver_approvers_needed(r)
}

bypasses(b, r) if {
	object.get(change, "kind", "") == "emergency"
	b.active == true
	not unexcusable(r.rule)
	some rule in b.rules
	rule_matches(rule, r.rule)
}

waived contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": w.id} if {
	some r in deny
	waived_reason(r)
	some w in waivers
	excuses(w, r)
}

bypassed contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": b.id} if {
	some r in deny
	some b in breakglass
	bypasses(b, r)
}

bypassed contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": "emergency"} if {
	some r in deny
	emergency_slo(r)
}

bypassed contains {"rule": r.rule, "message": r.message, "fix": r.fix, "waiver": "emergency"} if {
	some r in deny
	emergency_dr(r)
}

# Reason by reason (never by rule id: a waiver of one finding excuses no other).
excused(r) if waived_reason(r)

excused(r) if {
	some b in breakglass
	bypasses(b, r)
}

excused(r) if emergency_slo(r)

excused(r) if emergency_dr(r)

blocking := {r | some r in deny; not excused(r)}

# ---- what satisfied each control (`ward gate explain`) ---------------------------------

# Not part of the verdict: for each control the tier requires and the input meets, the records
# that meet it — which report, which signature — so an allow can be explained and audited.
# Ward evaluates it with the policy recorded with the decision; a team rule may add its own.

as_evidence(a) := {
	"kind": "evidence",
	"seq": object.get(a, "seq", null),
	"id": object.get(a, "id", null),
	"type": a.type,
	"file_name": object.get(a, "file_name", null),
}

as_signature(a) := {
	"kind": "signature",
	"signer": a.signer,
	"printed_name": object.get(a, "printed_name", a.signer),
	"meaning": a.meaning,
	"time": object.get(a, "time", null),
}

satisfied contains {"control": sprintf("evidence.%s", [kind]), "artifact": d, "by": by} if {
	some kind in object.get(controls, "evidence", [])
	some d in subjects
	by := [as_evidence(a) | some a in evidence; about(a, d); meets(kind, a, d)]
	count(by) > 0
}

satisfied contains {"control": sprintf("evidence.step.%s", [s]), "artifact": d, "by": by} if {
	some s in object.get(controls, "steps", [])
	some d in subjects
	by := [as_evidence(a) |
		some a in evidence
		about(a, d)
		a.type == "intoto"
		object.get(a.summary, "step", null) == s
	]
	count(by) > 0
}

satisfied contains {"control": "change.ticket", "by": [{"kind": "ticket", "url": change.ticket_url}]} if {
	object.get(controls, "ticket", false) == true
	has_ticket
}

satisfied contains {"control": "approvals.quorum", "by": [as_signature(a) | some a in quorum_approvals]} if {
	need := object.get(controls, "approvals", 1)
	need > 0
	count(approvers) >= need
	not requester_sole_approver
}

satisfied contains {"control": sprintf("approvals.role.%s", [role]), "by": by} if {
	some role, n in object.get(controls, "roles", {})
	by := [as_signature(a) | some a in current_approvals; role in object.get(a, "roles", [])]
	count({person(a) | some a in current_approvals; role in object.get(a, "roles", [])}) >= n
}

satisfied contains {"control": sprintf("checklist.%s", [item]), "by": by} if {
	some item in checklist
	by := [as_signature(a) | some a in current_approvals; a.meaning == item]
	count(by) > 0
}

satisfied contains {"control": "environment.targeted", "by": [{"kind": "record", "text": sprintf("the change targets %s", [concat(", ", input.change.environments)])}]} if {
	input.environment in input.change.environments
}

satisfied contains {"control": "promotion.previous_environment", "by": [{"kind": "record", "text": sprintf("every artifact was deployed in %s", [prev])}]} if {
	prev := object.get(object.get(input, "promotion", {}), "previous", null)
	is_string(prev)
	count(object.get(input.promotion, "not_in_previous", [])) == 0
}

satisfied contains {"control": "slo.error_budget", "by": [{"kind": "record", "text": s.reason}]} if {
	some s in slo_states
	s.state == "ok"
}

satisfied contains {"control": "dr.readiness", "by": [{"kind": "record", "text": sprintf("%s (%s tier, RPO %s, RTO %s) is ready", [s.service, s.tier, s.rpo, s.rto])}]} if {
	some s in dr_states
	s.ready == true
}

# ---- the decision ---------------------------------------------------------------------

default allow := false

allow if count(blocking) == 0

decision := {"allow": allow, "deny": blocking, "waived": waived | bypassed}
