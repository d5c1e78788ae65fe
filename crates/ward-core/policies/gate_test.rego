package ward.gate_test

import rego.v1

import data.ward.gate

controls := {
	"tiers": {
		"low": {"evidence": ["tests_passed"], "approvals": 1},
		"high": {"evidence": ["tests_passed", "sbom"], "approvals": 2},
	},
	"checklist": {"phi": ["privacy-review"]},
}

passing := {"type": "junit", "summary": {"tests": 3, "failed": 0, "errored": 0}}

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

test_critical_vulnerability_past_72h_blocks if {
	d := gate.deny with data.controls as controls with input as {
		"now_secs": 400000,
		"change": {"tier": "low", "tags": []},
		"evidence": [passing],
		"approvals": [approval("user:a", "approved")],
		"vulnerabilities": [{"id": "CVE-1", "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0}],
	}
	{r.rule | some r in d} == {"sla.critical"}
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

sla_input(waivers) := {
	"now_secs": 400000,
	"environment": "prod",
	"change": {"tier": "low", "tags": [], "kind": "normal"},
	"evidence": [passing],
	"approvals": [approval("user:a", "approved")],
	"vulnerabilities": [{"id": "CVE-1", "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0}],
	"waivers": waivers,
	"breakglass": [],
}

test_an_active_waiver_for_the_finding_excuses_it_and_is_visible if {
	gate.allow with data.controls as controls with input as sla_input([{"id": "WVR-1", "rules": ["sla."], "finding": "CVE-1", "active": true}])
	d := gate.decision with data.controls as controls with input as sla_input([{"id": "WVR-1", "rules": ["sla."], "finding": "CVE-1", "active": true}])
	{x.waiver | some x in d.waived} == {"WVR-1"}
}

test_expired_or_other_finding_waivers_fail_closed if {
	not gate.allow with data.controls as controls with input as sla_input([{"id": "WVR-1", "rules": ["sla."], "finding": "CVE-1", "active": false}])
	not gate.allow with data.controls as controls with input as sla_input([{"id": "WVR-2", "rules": ["sla.critical"], "finding": "CVE-9", "active": true}])
}

test_a_change_wide_waiver_names_no_finding if {
	gate.allow with data.controls as controls with input as sla_input([{"id": "WVR-3", "rules": ["sla.critical"], "finding": null, "active": true}])
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
	art := object.union(sla_input([{"id": "WVR-4", "rules": ["sla."], "artifact": "sha256:aa", "active": true}]), {
		"vulnerabilities": [{"id": "CVE-1", "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0, "artifact": "sha256:aa"}],
	})
	gate.allow with data.controls as controls with input as art
	other := object.union(art, {"vulnerabilities": [{"id": "CVE-1", "package": "p", "severity": "critical", "open": true, "first_seen_secs": 0, "artifact": "sha256:bb"}]})
	not gate.allow with data.controls as controls with input as other
}

promo_input(promotion, kind) := {
	"now_secs": 0, "environment": "prod", "requested_by": "user:z",
	"change": {"id": "CHG-9", "tier": "low", "tags": [], "kind": kind, "environments": []},
	"evidence": [passing], "vulnerabilities": [], "waivers": [],
	"approvals": [approval("user:a", "approved")],
	"breakglass": [{"id": "BG-1", "rules": ["promotion."], "active": true}],
	"promotion": promotion,
}

skipped := {"previous": "staging", "not_in_previous": ["sha256:aa"], "earlier_rings_pending": []}

test_skipping_the_previous_environment_blocks_unless_policy_allows if {
	d := gate.deny with data.controls as controls with input as promo_input(skipped, "normal")
	some r in d
	r.rule == "promotion.previous_environment"
	contains(r.fix, "ward promote --change CHG-9 --to staging")
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
	contains(r.fix, "--ring internal")
	gate.allow with data.controls as controls with input as promo_input({"not_in_previous": [], "earlier_rings_pending": []}, "normal")
}
