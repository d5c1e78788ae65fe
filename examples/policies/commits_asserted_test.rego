# Tests of commits_asserted.rego: `ward policy test --dir examples/policies` runs them beside the
# bundled policy's own tests.
package team.commits_asserted_test

import rego.v1

import data.ward.gate

controls := {"tiers": {
	"low": {"evidence": [], "approvals": 1},
	"medium": {"evidence": [], "approvals": 1},
	"high": {"evidence": [], "approvals": 1},
}}

# A gate input (docs/gate-input.schema.json) cut down to what the rules read.
change_input(tier, source) := {
	"now_secs": 0,
	"environment": "prod",
	"requested_by": "user:rhea",
	"change": {"id": "CHG-0000002a", "kind": "normal", "tier": tier, "tags": [], "environments": [], "artifacts": [], "commits_source": source},
	"evidence": [],
	"approvals": [],
	"vulnerabilities": [],
	"calendar": {"windows_apply": false, "in_window": true, "open_windows": [], "freezes": []},
	"waivers": [],
	"breakglass": [],
}

rules_of(reasons) := {r.rule | some r in reasons}

test_asserted_commits_block_a_high_change if {
	d := gate.deny with data.controls as controls with input as change_input("high", "asserted")
	some r in d
	r.rule == "separation.commits_asserted"
	contains(r.message, "CHG-0000002a is a high-tier change")
	r.fix == "inside the repository, as yourself in local mode (--as USER), let Ward read the commits: ward change update CHG-0000002a --range main..HEAD"
}

test_asserted_commits_block_a_medium_change if {
	d := gate.deny with data.controls as controls with input as change_input("medium", "asserted")
	"separation.commits_asserted" in rules_of(d)
}

test_commits_read_from_git_pass if {
	d := gate.deny with data.controls as controls with input as change_input("high", "git")
	not "separation.commits_asserted" in rules_of(d)
}

test_low_changes_may_assert_commits if {
	d := gate.deny with data.controls as controls with input as change_input("low", "asserted")
	not "separation.commits_asserted" in rules_of(d)
}

# The bundled rules still apply beside the team's: rules add up.
test_bundled_rules_still_apply if {
	d := gate.deny with data.controls as controls with input as change_input("high", "asserted")
	{"separation.commits_asserted", "approvals.quorum"} == rules_of(d) & {"separation.commits_asserted", "approvals.quorum"}
}

waiver := {
	"id": "WVR-0000000a", "rules": ["separation.commits_asserted"], "finding": null, "artifact": null,
	"active": true, "expires_secs": 86400, "owner": "user:dana", "approver": "user:quinn",
}

test_a_waiver_does_not_excuse_it if {
	i := object.union(change_input("high", "asserted"), {"waivers": [waiver]})
	b := gate.blocking with data.controls as controls with input as i
	"separation.commits_asserted" in rules_of(b)
}

test_break_glass_on_an_emergency_bypasses_it if {
	base := change_input("high", "asserted")
	i := object.union(base, {
		"change": object.union(base.change, {"kind": "emergency"}),
		"breakglass": [{"id": "BG-0000000a", "rules": ["separation."], "active": true, "until_secs": 86400}],
	})
	b := gate.blocking with data.controls as controls with input as i
	not "separation.commits_asserted" in rules_of(b)
}
