package ward.gate_test

import rego.v1

import data.ward.gate

controls := {
	"tiers": {
		"low": {"evidence": ["tests_passed"], "approvals": 1},
		"medium": {"evidence": ["tests_passed"], "approvals": 1, "ticket": true},
		"high": {"evidence": ["tests_passed", "sbom"], "approvals": 2, "evidence_waiver_approvers": 2},
	},
	"checklist": {"phi": ["privacy-review"]},
	"sla": {"high": 72, "medium": 720, "low": 2160},
}

# Change-level evidence (attached to the change id, which inputs without an id call "ID").
passing := {"type": "junit", "artifact": "ID", "summary": {"tests": 3, "passed": 3, "failed": 0, "errored": 0}}

# gate.decision, part by part: regorus 0.14 can leave `decision` itself undefined under `with`
# when a team's file adds to package ward.gate (ward policy test runs these beside them).
decide(c, i) := {"allow": a, "deny": d, "waived": w} if {
	a := gate.allow with data.controls as c with input as i
	d := gate.blocking with data.controls as c with input as i
	w := gate.waived | gate.bypassed with data.controls as c with input as i
}

approval(who, meaning) := {"signer": who, "meaning": meaning, "decision": "approved", "stale": false}

test_low_change_with_tests_and_one_approval_is_allowed if {
	gate.allow with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "low", "tags": []},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [],
	}
}

test_stale_approvals_do_not_count if {
	not gate.allow with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "low", "tags": []},
		"evidence": [passing],
		"approvals": [object.union(approval("user:a", "approved"), {"stale": true})],
		"vulnerabilities": [],
	}
}

test_high_needs_two_distinct_people_and_the_checklist if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "high", "tags": ["phi"]},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved"), approval("user:a", "approved")],
		"vulnerabilities": [],
	}
	rules := {r.rule | some r in d}
	rules == {"evidence.sbom", "approvals.quorum", "checklist.privacy-review"}
}

# Two spellings of one person (the input's `person`) are one approver (a helper's attack on
# the twelfth session's head: `user:bob` and `user:bob.` met a two-approver quorum).
test_two_spellings_of_one_person_are_one_approver if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "high", "tags": []},
		"evidence": [passing],
		"approvals": [
			object.union(approval("user:bob", "approved"), {"person": "user:bob"}),
			object.union(approval("user:bob.", "approved"), {"person": "user:bob"}),
		],
		"vulnerabilities": [],
	}
	"approvals.quorum" in {r.rule | some r in d}
}

test_open_critical_vulnerability_blocks_at_once if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "low", "tags": []},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [{"id": "CVE-1", "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0}],
	}
	{r.rule | some r in d} == {"vulnerabilities.critical_open"}
}

sla_vuln(severity, now) := {
	"now_secs": now,
	"change": {"tier": "low", "tags": []},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [{"id": "CVE-2", "package": "p", "severity": severity, "open": true, "first_seen_secs": 0}],
}

test_high_medium_low_follow_the_sla_clock_from_first_seen if {
	gate.allow with data.controls as controls with input as sla_vuln("high", 71 * 3600)
	d := gate.deny with data.controls as controls with input as sla_vuln("high", 73 * 3600)
	{r.rule | some r in d} == {"sla.high"}
	gate.allow with data.controls as controls with input as sla_vuln("medium", 29 * 86400)
	not gate.allow with data.controls as controls with input as sla_vuln("medium", 31 * 86400)
	gate.allow with data.controls as controls with input as sla_vuln("low", 89 * 86400)
	not gate.allow with data.controls as controls with input as sla_vuln("low", 91 * 86400)
	# [controls.sla] is configurable (hours).
	c := object.union(controls, {"sla": {"high": 1, "medium": 720, "low": 2160}})
	not gate.allow with data.controls as c with input as sla_vuln("high", 2 * 3600)
}

outside_window(kind) := {
	"now_secs": 0,
	"environment": "prod",
	"change": {"tier": "low", "tags": [], "kind": kind},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [],
	"calendar": {"windows_apply": true, "in_window": false, "open_windows": [], "freezes": []},
}

test_windows_bind_normal_changes if {
	d := gate.deny with data.controls as controls with input as outside_window("normal")
	{r.rule | some r in d} == {"calendar.outside_window"}
}

test_emergencies_may_go_outside_windows if {
	gate.allow with data.controls as controls with input as outside_window("emergency")
}

slo_input(kind, state) := {
	"now_secs": 0,
	"environment": "prod",
	"change": {"tier": "low", "tags": [], "kind": kind},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [],
	"slo": [{"service": "reminders", "environment": "prod", "objective": 0.999, "state": state, "alerts": [], "reason": "reminders in prod is burning its 99.9% error budget: 20.0x over 1h and 50.0x over 5m (alert at 14.4x)"}],
}

test_a_burning_error_budget_blocks_a_normal_change if {
	r := decide(controls, slo_input("normal", "burning"))
	not r.allow
	{x.rule | some x in r.deny} == {"slo.error_budget"}
	some x in r.deny
	contains(x.message, "14.4x")
	x.finding == "reminders"
}

test_an_unreadable_error_budget_blocks_too if {
	r := decide(controls, slo_input("normal", "unknown"))
	not r.allow
	{x.rule | some x in r.deny} == {"slo.unknown"}
}

test_an_emergency_passes_a_burning_budget_and_is_marked if {
	r := decide(controls, slo_input("emergency", "burning"))
	r.allow
	{[x.rule, x.waiver] | some x in r.waived} == {["slo.error_budget", "emergency"]}
}

test_a_budget_within_its_objective_blocks_nothing if {
	r := decide(controls, slo_input("normal", "ok"))
	r.allow
	count(r.waived) == 0
	s := gate.satisfied with data.controls as controls with input as slo_input("normal", "ok")
	some x in s
	x.control == "slo.error_budget"
}

dr_input(kind, gaps) := {
	"now_secs": 0,
	"environment": "prod",
	"change": {"tier": "low", "tags": [], "kind": kind},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [],
	"dr": [{"service": "orders", "tier": "high", "rpo": "24h", "rto": "1h", "ready": count(gaps) == 0, "gaps": gaps, "stores": [], "last_drill": null}],
}

stale_backup := {"rule": "dr.rpo", "store": "orders-db", "reason": "store orders-db: last successful backup 26h ago, RPO 24h"}

test_a_backup_older_than_the_rpo_blocks_naming_the_store_and_age if {
	r := decide(controls, dr_input("normal", [stale_backup]))
	not r.allow
	{x.rule | some x in r.deny} == {"dr.readiness"}
	some x in r.deny
	x.message == "orders: store orders-db: last successful backup 26h ago, RPO 24h"
	x.finding == "orders/orders-db"
	x.action == {"do": "attest", "type": "dr:TOOL", "file": "FILE"}
	not contains(x.fix, "ward ")
}

test_a_stale_drill_blocks_with_its_own_finding if {
	gap := {"rule": "dr.rollback_drill", "reason": "last rollback drill 31d ago; a high-risk change of a high tier service needs one within 30 days"}
	r := decide(controls, dr_input("normal", [gap, stale_backup]))
	{x.finding | some x in r.deny} == {"orders/rollback-drill", "orders/orders-db"}
}

test_an_emergency_passes_dr_readiness_and_is_marked if {
	r := decide(controls, dr_input("emergency", [stale_backup]))
	r.allow
	{[x.rule, x.waiver] | some x in r.waived} == {["dr.readiness", "emergency"]}
}

test_a_dr_waiver_excuses_only_the_gap_it_names if {
	drill := {"rule": "dr.rollback_drill", "reason": "no rollback drill; a high-risk change of a high tier service needs one within 30 days"}
	inp := object.union(dr_input("normal", [stale_backup, drill]), {"waivers": [waiver("WVR-7", ["dr."], {"finding": "orders/rollback-drill"})], "breakglass": []})
	d := decide(controls, inp)
	not d.allow
	{r.finding | some r in d.deny} == {"orders/orders-db"}
	{[x.rule, x.waiver] | some x in d.waived} == {["dr.readiness", "WVR-7"]}
	count(d.waived) == 1
}

test_a_ready_service_blocks_nothing_and_is_explained if {
	r := decide(controls, dr_input("normal", []))
	r.allow
	s := gate.satisfied with data.controls as controls with input as dr_input("normal", [])
	some x in s
	x.control == "dr.readiness"
	x.by[0].text == "orders (high tier, RPO 24h, RTO 1h) is ready"
}

test_freezes_block if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 0,
		"environment": "prod",
		"change": {"tier": "low", "tags": [], "kind": "normal"},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [],
		"calendar": {"windows_apply": false, "in_window": true, "open_windows": [], "freezes": ["year-end"]},
	}
	{r.rule | some r in d} == {"calendar.freeze"}
}

test_a_freeze_says_when_it_ends if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 0,
		"environment": "prod",
		"change": {"tier": "low", "tags": [], "kind": "normal"},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [],
		"calendar": {
			"windows_apply": false, "in_window": true, "open_windows": [], "freezes": ["year-end"],
			"freeze_ends": [{"name": "year-end", "until": "2027-01-05T05:00:00Z", "local": "2027-01-05T00:00:00-05:00[America/New_York]"}],
		},
	}
	some r in d
	r.message == "prod is frozen (year-end) until 2027-01-05T05:00:00Z (2027-01-05T00:00:00-05:00[America/New_York])"
	r.fix == "wait until the freeze ends at 2027-01-05T05:00:00Z (2027-01-05T00:00:00-05:00[America/New_York])"
}

crit(id, artifact) := {"id": id, "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0, "artifact": artifact}

sla_input(waivers) := {
	"now_secs": 400000,
	"environment": "prod",
	"change": {"tier": "low", "tags": [], "kind": "normal"},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [crit("CVE-1", "sha256:aa")],
	"waivers": waivers,
	"breakglass": [],
}

waiver(id, rules, extra) := object.union({"id": id, "rules": rules, "active": true, "approver": "user:q"}, extra)

test_an_active_waiver_for_the_finding_excuses_it_and_is_visible if {
	w := [waiver("WVR-1", ["vulnerabilities."], {"finding": "CVE-1"})]
	gate.allow with data.controls as controls with input as sla_input(w)
	d := decide(controls, sla_input(w))
	{x.waiver | some x in d.waived} == {"WVR-1"}
}

test_expired_or_other_finding_waivers_fail_closed if {
	not gate.allow with data.controls as controls with input as sla_input([waiver("WVR-1", ["vulnerabilities."], {"finding": "CVE-1", "active": false})])
	not gate.allow with data.controls as controls with input as sla_input([waiver("WVR-2", ["vulnerabilities.critical_open"], {"finding": "CVE-9"})])
}

test_finding_waiver_does_not_excuse_other_findings if {
	# Two critical findings under the same rule id: a waiver of CVE-1 leaves CVE-2 blocking.
	two := object.union(sla_input([waiver("WVR-1", ["vulnerabilities.critical_open"], {"finding": "CVE-1"})]), {"vulnerabilities": [crit("CVE-1", "sha256:aa"), crit("CVE-2", "sha256:aa")]})
	d := decide(controls, two)
	not d.allow
	{r.finding | some r in d.deny} == {"CVE-2"}
	{x.rule | some x in d.waived} == {"vulnerabilities.critical_open"}
	count(d.waived) == 1
}

test_critical_findings_are_waived_only_per_finding if {
	# A change-wide waiver (no finding) does not excuse an open critical finding...
	not gate.allow with data.controls as controls with input as sla_input([waiver("WVR-3", ["vulnerabilities.critical_open"], {"finding": null})])
	# ...while one past the SLA of a lower severity may be waived change-wide.
	high := object.union(sla_vuln("high", 73 * 3600), {"waivers": [waiver("WVR-4", ["sla.high"], {"finding": null})]})
	gate.allow with data.controls as controls with input as high
}

test_waiver_without_approver_excuses_nothing if {
	w := object.remove(waiver("WVR-5", ["vulnerabilities."], {"finding": "CVE-1"}), ["approver"])
	not gate.allow with data.controls as controls with input as sla_input([w])
}

test_roles_and_the_requester_rule if {
	c := object.union(controls, {"tiers": {"low": {"evidence": [], "approvals": 1, "roles": {"release-manager": 1}}}})
	base := {
		"now_secs": 0, "environment": "prod", "requested_by": "user:a",
		"change": {"tier": "low", "tags": [], "kind": "normal"},
		"evidence": [], "vulnerabilities": [],
	}
	d := gate.deny with data.controls as c with input as object.union(base, {"approvals": [approval("user:a", "approved")]})
	{r.rule | some r in d} == {"approvals.role.release-manager", "approvals.requester_sole_approver"}
	rm := object.union(approval("user:b", "approved"), {"roles": ["approver", "release-manager"]})
	gate.allow with data.controls as c with input as object.union(base, {"approvals": [approval("user:a", "approved"), rm]})
}

test_an_artifact_waiver_covers_only_that_artifacts_findings if {
	w := [waiver("WVR-4", ["vulnerabilities."], {"finding": "CVE-1", "artifact": "sha256:aa"})]
	gate.allow with data.controls as controls with input as sla_input(w)
	other := object.union(sla_input(w), {"vulnerabilities": [crit("CVE-1", "sha256:bb")]})
	not gate.allow with data.controls as controls with input as other
}

test_artifact_waiver_excuses_only_that_artifacts_reason if {
	# Two artifacts both miss tests; a waiver scoped to A excuses A's reason only.
	base := {
		"now_secs": 0, "environment": "prod", "requested_by": "user:z",
		"change": {"id": "CHG-1", "tier": "low", "tags": [], "kind": "normal", "artifacts": ["sha256:aa", "sha256:bb"]},
		"evidence": [], "vulnerabilities": [], "breakglass": [],
		"approvals": [approval("user:a", "approved")],
		"waivers": [waiver("WVR-6", ["evidence.tests_passed"], {"artifact": "sha256:aa"})],
	}
	d := decide(controls, base)
	not d.allow
	{[r.rule, r.artifact] | some r in d.deny} == {["evidence.tests_passed", "sha256:bb"]}
	{x.waiver | some x in d.waived} == {"WVR-6"}
}

promo_input(promotion, kind) := {
	"now_secs": 0, "environment": "prod", "requested_by": "user:z",
	"change": {"id": "CHG-9", "tier": "low", "tags": [], "kind": kind, "environments": []},
	"evidence": [object.union(passing, {"artifact": "CHG-9"})], "vulnerabilities": [], "waivers": [],
	"approvals": [approval("user:a", "approved")],
	"breakglass": [{"id": "BG-1", "rules": ["promotion."], "active": true}],
	"promotion": promotion,
}

skipped := {"previous": "staging", "not_in_previous": ["sha256:aa"], "earlier_rings_pending": []}

test_skipping_the_previous_environment_blocks_unless_policy_allows if {
	d := gate.deny with data.controls as controls with input as promo_input(skipped, "normal")
	some r in d
	r.rule == "promotion.previous_environment"
	r.action == {"do": "promote", "change": "CHG-9", "environment": "staging"}
	r.fix == "promote CHG-9 to staging first"
	c := object.union(controls, {"tiers": {"low": {"evidence": ["tests_passed"], "approvals": 1, "may_skip_environments": true}}})
	gate.allow with data.controls as c with input as promo_input(skipped, "normal")
	gate.allow with data.controls as controls with input as promo_input(skipped, "emergency")
}

test_earlier_rings_come_first if {
	rings := {"previous": null, "not_in_previous": [], "earlier_rings_pending": [
		{"ring": "internal", "tenant": "internal"},
		{"ring": "pilot", "tenant": "clinic-b"},
	]}
	d := gate.deny with data.controls as controls with input as promo_input(rings, "normal")
	some r in d
	r.rule == "promotion.ring_order"
	contains(r.message, "clinic-b, internal")
	r.action.ring == "internal"
	r.fix == "promote CHG-9 to prod ring internal first"
	gate.allow with data.controls as controls with input as promo_input({"not_in_previous": [], "earlier_rings_pending": []}, "normal")
}

# ---- who must sign: never waived, only bypassed by break-glass on an emergency ------------

signing_input(kind, waivers, breakglass) := {
	"now_secs": 0, "environment": "prod", "requested_by": "user:o",
	"change": {"id": "CHG-2", "tier": "high", "tags": ["phi"], "kind": kind, "artifacts": []},
	"evidence": [
		object.union(passing, {"artifact": "CHG-2"}),
		{"type": "cyclonedx", "artifact": "CHG-2", "summary": {}},
	],
	"vulnerabilities": [], "approvals": [approval("user:o", "approved")],
	"waivers": waivers, "breakglass": breakglass,
}

test_self_granted_waiver_of_approvals_and_checklist_does_not_excuse if {
	w := [
		waiver("WVR-7", ["approvals.", "checklist.", "evidence."], {"approver": "user:o"}),
		waiver("WVR-8", ["approvals.quorum", "approvals.requester_sole_approver", "checklist.privacy-review"], {"approver": "user:p"}),
	]
	d := decide(controls, signing_input("normal", w, []))
	not d.allow
	{r.rule | some r in d.deny} == {"approvals.quorum", "approvals.requester_sole_approver", "checklist.privacy-review"}
	every x in d.waived {
		not startswith(x.rule, "approvals.")
		not startswith(x.rule, "checklist.")
	}
}

test_separation_of_duties_rules_are_not_waivable if {
	gate.waivable({"rule": "evidence.sbom"})
	not gate.waivable({"rule": "separation.editor_signed"})
	not gate.waivable({"rule": "approvals.requester_sole_approver"})
	not gate.waivable({"rule": "controls.missing"})
}

test_breakglass_on_an_emergency_bypasses_who_must_sign if {
	bg := [{"id": "BG-2", "rules": ["approvals.", "checklist."], "active": true}]
	gate.allow with data.controls as controls with input as signing_input("emergency", [], bg)
	not gate.allow with data.controls as controls with input as signing_input("normal", [], bg)
	not gate.allow with data.controls as controls with input as signing_input("emergency", [], [object.union(bg[0], {"active": false})])
}

evidence_waiver_input(waivers) := {
	"now_secs": 0, "environment": "prod", "requested_by": "user:z",
	"change": {"id": "CHG-3", "tier": "high", "tags": [], "kind": "normal", "artifacts": ["sha256:aa"]},
	"evidence": [{"type": "junit", "artifact": "sha256:aa", "summary": {"tests": 1, "passed": 1, "failed": 0, "errored": 0}}],
	"vulnerabilities": [], "breakglass": [],
	"approvals": [approval("user:a", "approved"), approval("user:b", "approved")],
	"waivers": waivers,
}

test_evidence_waiver_on_high_needs_two_distinct_approvers if {
	one := [waiver("WVR-9", ["evidence.sbom"], {"approver": "user:q"})]
	d := decide(controls, evidence_waiver_input(one))
	{r.rule | some r in d.deny} == {"evidence.sbom"}
	count(d.waived) == 0
	# The same approver twice is still one person.
	same := array.concat(one, [waiver("WVR-10", ["evidence."], {"approver": "user:q"})])
	not gate.allow with data.controls as controls with input as evidence_waiver_input(same)
	two := array.concat(one, [waiver("WVR-11", ["evidence."], {"approver": "user:r"})])
	d2 := decide(controls, evidence_waiver_input(two))
	d2.allow
	{x.waiver | some x in d2.waived} == {"WVR-9", "WVR-11"}
	# A waiver for another reason does not count toward the two.
	other := array.concat(one, [waiver("WVR-12", ["evidence.provenance"], {"approver": "user:r"})])
	not gate.allow with data.controls as controls with input as evidence_waiver_input(other)
}

test_a_tier_without_controls_in_data_denies if {
	c := {"tiers": {"high": controls.tiers.high}, "checklist": {}}
	d := gate.deny with data.controls as c with input as {
		"now_secs": 0, "change": {"tier": "medium", "tags": []}, "evidence": [passing],
		"approvals": [], "vulnerabilities": [],
		"waivers": [waiver("WVR-13", ["controls."], {})],
	}
	{r.rule | some r in d} == {"controls.missing"}
	not gate.allow with data.controls as {} with input as {"now_secs": 0, "change": {"tier": "low", "tags": []}}
}

# ---- evidence semantics -------------------------------------------------------------------

junit(id, seq, artifact, names, failed, by) := {
	"id": id, "seq": seq, "type": "junit", "artifact": artifact, "file_name": sprintf("%s.xml", [id]),
	"added_by": by, "summary": {"tests": 5, "passed": 5 - failed, "failed": failed, "errored": 0, "suite_names": names},
}

reports_input(evidence) := {
	"now_secs": 0, "environment": "prod", "requested_by": "user:z",
	"change": {"id": "CHG-4", "tier": "low", "tags": [], "kind": "normal", "artifacts": ["sha256:aa"]},
	"evidence": evidence, "vulnerabilities": [], "waivers": [], "breakglass": [],
	"approvals": [approval("user:a", "approved")],
}

test_passing_report_does_not_hide_a_failing_report_of_another_suite if {
	ev := [junit("unit", 1, "sha256:aa", ["unit"], 0, "token:ci"), junit("integration", 2, "sha256:aa", ["integration"], 2, "token:ci")]
	d := gate.deny with data.controls as controls with input as reports_input(ev)
	some r in d
	r.rule == "evidence.tests_failed"
	contains(r.message, "integration.xml")
	r.artifact == "sha256:aa"
	count(d) == 1
}

test_a_later_report_of_the_same_suite_supersedes_a_failing_one if {
	ev := [junit("first", 1, "sha256:aa", ["unit"], 2, "token:ci"), junit("rerun", 2, "sha256:aa", ["unit"], 0, "token:ci")]
	gate.allow with data.controls as controls with input as reports_input(ev)
	# An earlier passing report does not supersede a later failing one.
	not gate.allow with data.controls as controls with input as reports_input([junit("a", 2, "sha256:aa", ["unit"], 2, "token:ci"), junit("b", 1, "sha256:aa", ["unit"], 0, "token:ci")])
	# Another identity's report, or one naming other suites, supersedes nothing.
	not gate.allow with data.controls as controls with input as reports_input([junit("a", 1, "sha256:aa", ["unit"], 2, "token:ci"), junit("b", 2, "sha256:aa", ["unit"], 0, "user:dev")])
	not gate.allow with data.controls as controls with input as reports_input([junit("a", 1, "sha256:aa", ["unit"], 2, "token:ci"), junit("b", 2, "sha256:aa", ["unit", "x"], 0, "token:ci")])
	# Reports without suite names (recorded before Ward kept them) are never the same suite.
	not gate.allow with data.controls as controls with input as reports_input([junit("a", 1, "sha256:aa", [], 2, "token:ci"), junit("b", 2, "sha256:aa", [], 0, "token:ci")])
}

keyed_junit(id, seq, key, failed) := object.union(
	junit(id, seq, "sha256:aa", [sprintf("doc:sha256:%s", [id])], failed, "token:ci"),
	{"summary": {"tests": 5, "passed": 5 - failed, "failed": failed, "errored": 0, "suite_names": [sprintf("doc:sha256:%s", [id])], "suite_key": key}},
)

test_suites_are_compared_by_their_key_when_names_live_beside_the_log if {
	# The names are salted references (different for every report); the key decides.
	gate.allow with data.controls as controls with input as reports_input([keyed_junit("a", 1, "hmac-sha256:k1", 2), keyed_junit("b", 2, "hmac-sha256:k1", 0)])
	not gate.allow with data.controls as controls with input as reports_input([keyed_junit("a", 1, "hmac-sha256:k1", 2), keyed_junit("b", 2, "hmac-sha256:k2", 0)])
}

two_artifacts(evidence) := object.union(reports_input(evidence), {"change": {"id": "CHG-4", "tier": "low", "tags": [], "kind": "normal", "artifacts": ["sha256:aa", "sha256:bb"]}})

test_evidence_on_one_artifact_does_not_satisfy_another if {
	d := gate.deny with data.controls as controls with input as two_artifacts([junit("unit", 1, "sha256:aa", ["unit"], 0, "token:ci")])
	{[r.rule, r.artifact] | some r in d} == {["evidence.tests_passed", "sha256:bb"]}
	some r in d
	contains(r.message, "sha256:bb")
	r.action == {"do": "attest", "artifact": "sha256:bb", "file": "report.xml"}
	# Evidence attached to the change counts for every artifact.
	gate.allow with data.controls as controls with input as two_artifacts([junit("unit", 1, "CHG-4", ["unit"], 0, "token:ci")])
}

scan(incomplete) := {"type": "vulns", "artifact": "sha256:aa", "summary": {"incomplete": incomplete, "list": []}}

test_incomplete_scan_satisfies_nothing if {
	c := object.union(controls, {"tiers": {"low": {"evidence": ["vulnerability_scan"], "approvals": 1}}})
	d := gate.deny with data.controls as c with input as reports_input([scan(true)])
	{r.rule | some r in d} == {"evidence.vulnerability_scan"}
	gate.allow with data.controls as c with input as reports_input([scan(false)])
	gate.allow with data.controls as c with input as reports_input([{"type": "vulns", "artifact": "sha256:aa", "summary": {"list": []}}])
}

link(artifact, step, role) := {"type": "intoto", "artifact": artifact, "summary": {"provenance": false, "step": step, "artifact_role": role}}

test_required_steps_need_a_link_per_artifact if {
	c := object.union(controls, {"tiers": {"low": {"evidence": [], "approvals": 1, "steps": ["test"]}}})
	d := gate.deny with data.controls as c with input as two_artifacts([link("sha256:aa", "test", "material"), link("sha256:bb", "build", "product")])
	{[r.rule, r.artifact] | some r in d} == {["evidence.step.test", "sha256:bb"]}
	gate.allow with data.controls as c with input as two_artifacts([link("sha256:aa", "test", "material"), link("sha256:bb", "test", "material")])
}

prov(role) := {"type": "intoto", "artifact": "sha256:aa", "summary": {"provenance": true, "artifact_role": role}}

test_a_link_that_only_consumed_the_artifact_is_not_provenance if {
	c := object.union(controls, {"tiers": {"low": {"evidence": ["provenance"], "approvals": 1}}})
	not gate.allow with data.controls as c with input as reports_input([prov("material")])
	gate.allow with data.controls as c with input as reports_input([prov("subject")])
	gate.allow with data.controls as c with input as reports_input([{"type": "intoto", "artifact": "sha256:aa", "summary": {"provenance": true}}])
}

test_a_ticket_is_required_where_the_tier_says_so if {
	base := object.union(reports_input([junit("unit", 1, "sha256:aa", ["unit"], 0, "token:ci")]), {"change": {"tier": "medium"}})
	d := gate.deny with data.controls as controls with input as base
	{r.rule | some r in d} == {"change.ticket_missing"}
	some r in d
	r.action.do == "set_ticket"
	not gate.allow with data.controls as controls with input as object.union(base, {"change": {"ticket_url": "  "}})
	gate.allow with data.controls as controls with input as object.union(base, {"change": {"ticket_url": "https://tickets.example.org/T-1"}})
	# low does not need one here.
	gate.allow with data.controls as controls with input as object.union(base, {"change": {"tier": "low"}})
}

test_a_report_whose_every_test_was_skipped_is_not_passing if {
	skipped := {"type": "junit", "artifact": "ID", "summary": {"tests": 3, "passed": 0, "skipped": 3, "failed": 0, "errored": 0}}
	blocking := gate.blocking with data.controls as controls with input as {
		"now_secs": 0,
		"change": {"tier": "low", "tags": []},
		"evidence": [skipped],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [],
	}
	some r in blocking
	r.rule == "evidence.tests_passed"
}

# ---- one version, one build ---------------------------------------------------------------

test_a_version_that_moved_is_refused_unless_the_environment_accepts_it if {
	moved := [{"artifact": "sha256:aa", "service": "patient-api", "version": "3.2.0-rc.1", "other_digest": "sha256:bb"}]
	base := object.union(reports_input([junit("A-1", 1, "sha256:aa", ["unit"], 0, "token:ci")]), {"artifacts_rebound": moved})
	d := gate.deny with data.controls as controls with input as base
	"artifacts.version_rebound" in {r.rule | some r in d}
	not gate.allow with data.controls as controls with input as base
	gate.allow with data.controls as controls with input as object.union(base, {"environment_accepts_rebound": true})
	# Neither a waiver nor break-glass excuses it.
	not gate.waivable({"rule": "artifacts.version_rebound"})
}

test_evidence_fixes_name_the_change_when_it_has_no_artifacts if {
	inp := {
		"now_secs": 0, "environment": "prod", "requested_by": "user:z",
		"change": {"id": "CHG-9", "tier": "low", "tags": [], "kind": "normal", "artifacts": []},
		"evidence": [], "vulnerabilities": [], "waivers": [], "breakglass": [],
		"approvals": [approval("user:a", "approved")],
	}
	d := gate.deny with data.controls as controls with input as inp
	some r in d
	r.rule == "evidence.tests_passed"
	r.action == {"do": "attest", "change": "CHG-9", "file": "report.xml"}
}

# `satisfied` names what met each control: the passing report (not a superseded failing one)
# and the signature, but never a stale signature.
test_satisfied_names_the_report_and_the_signature_that_met_each_control if {
	failing := {"type": "junit", "artifact": "ID", "seq": 1, "id": "sha256:f1", "added_by": "token:ci", "summary": {"tests": 3, "passed": 2, "failed": 1, "errored": 0, "suite_key": "k"}}
	fixed := {"type": "junit", "artifact": "ID", "seq": 2, "id": "sha256:f2", "added_by": "token:ci", "summary": {"tests": 3, "passed": 3, "failed": 0, "errored": 0, "suite_key": "k"}}
	stale := {"signer": "user:b", "meaning": "approved", "decision": "approved", "stale": true}
	i := {
		"now_secs": 0,
		"change": {"tier": "low", "tags": []},
		"evidence": [failing, fixed],
		"approvals": [approval("user:a", "approved"), stale],
		"vulnerabilities": [],
	}
	s := gate.satisfied with data.controls as controls with input as i
	some t in s
	t.control == "evidence.tests_passed"
	[e.id | some e in t.by] == ["sha256:f2"]
	some q in s
	q.control == "approvals.quorum"
	[a.signer | some a in q.by] == ["user:a"]
	# Nothing is claimed as met that the tier does not require or the input does not hold.
	not "change.ticket" in {x.control | some x in s}
}

# The quorum is not claimed as met when the requester is its only approver (the gate blocks it).
test_satisfied_never_claims_a_quorum_the_requester_alone_gives if {
	i := {
		"now_secs": 0,
		"requested_by": "user:a",
		"change": {"tier": "low", "tags": []},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [],
	}
	s := gate.satisfied with data.controls as controls with input as i
	not "approvals.quorum" in {x.control | some x in s}
	s2 := gate.satisfied with data.controls as controls with input as object.union(i, {"requested_by": "token:ci"})
	"approvals.quorum" in {x.control | some x in s2}
}

# A critical SAST finding is named with its scan (not "no scan"), and no later scan of the same
# artifact hides it — not another tool's, not the same tool's rerun (same digest, same code: a
# clean rerun can only be a narrower scan).
sast_controls := {"tiers": {"low": {"evidence": ["no_critical_sast"], "approvals": 0}}, "checklist": {}}

sarif(seq, by, tool, critical) := {
	"type": "sarif", "artifact": "ID", "seq": seq, "id": sprintf("sha256:%v", [seq]), "added_by": by,
	"file_name": sprintf("%v.sarif", [tool]),
	"summary": {"tools": [{"name": tool}], "by_severity": {"critical": critical}},
}

sast_input(ev) := {"now_secs": 0, "change": {"tier": "low", "tags": []}, "evidence": ev, "approvals": [], "vulnerabilities": []}

test_a_critical_sast_finding_is_named_and_no_later_scan_of_the_same_build_hides_it if {
	found := decide(sast_controls, sast_input([sarif(1, "token:ci", "semgrep", 1)]))
	some r in found.deny
	r.rule == "evidence.no_critical_sast"
	contains(r.message, "semgrep.sarif")
	contains(r.message, "1 critical")
	not r.action
	not decide(sast_controls, sast_input([sarif(1, "token:ci", "semgrep", 1), sarif(2, "token:ci", "bandit", 0)])).allow
	not decide(sast_controls, sast_input([sarif(1, "token:ci", "semgrep", 1), sarif(2, "token:ci", "semgrep", 0)])).allow
	decide(sast_controls, sast_input([sarif(2, "token:ci", "semgrep", 0)])).allow
}

# A privacy officer's privacy review is a sign-off, not an approval: it meets the checklist and
# never the quorum (`quorum: false` on the input's signature).
test_a_privacy_review_meets_the_checklist_and_never_the_quorum if {
	review := {"signer": "user:pat", "meaning": "privacy-review", "decision": "approved", "stale": false, "quorum": false}
	blocked := decide(controls, {
		"now_secs": 0,
		"change": {"tier": "low", "tags": ["phi"]},
		"evidence": [passing],
		"approvals": [review],
		"vulnerabilities": [],
	})
	some r in blocked.deny
	r.rule == "approvals.quorum"
	not "checklist.privacy-review" in {x.rule | some x in blocked.deny}
	decide(controls, {
		"now_secs": 0,
		"change": {"tier": "low", "tags": ["phi"]},
		"evidence": [passing],
		"approvals": [review, approval("user:quinn", "approved")],
		"vulnerabilities": [],
	}).allow
}
