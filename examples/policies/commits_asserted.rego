# A team rule (see docs/POLICY.md): a medium- or high-tier change must carry a commit list that
# Ward read from git itself, not one its caller asserted.
#
# Why: a change's commit authors are parties of it and can never sign it (separation of duties).
# An asserted list can leave an author out, so the signatures are only as independent as the
# list is true. Ward reads the list from git when the `ward` process that records the change runs
# in the repository with a range (`ward change open/update --range A..B` in local mode);
# over HTTP the list is always the caller's assertion (docs/CONTROLS.md, known gaps).
#
# The rule id is under `separation.`: the bundled policy never lets a waiver excuse a
# `separation.*` reason; only an active break-glass on an emergency change bypasses it.
package ward.gate

import rego.v1

deny contains r if {
	input.change.tier in {"medium", "high"}
	input.change.commits_source == "asserted"
	r := {
		"rule": "separation.commits_asserted",
		"message": sprintf("%s is a %s-tier change whose commit list was asserted by its caller, not read from git by Ward: its authors, who may not sign it, are unverified", [input.change.id, input.change.tier]),
		"fix": sprintf("inside the repository, as yourself in local mode (--as USER), let Ward read the commits: ward change update %s --range main..HEAD", [input.change.id]),
	}
}
