//! Parse-and-summarise throughput against the raw parse of the same bytes (criterion).
//!
//! - JUnit: a generated 10,000-case report (pytest's shape, 5% failures with messages and
//!   traces) through `junit::summarise`, against quick-xml reading every event and attribute.
//! - SARIF: a generated 5 MB semgrep-shaped log through `sarif::summarise`, against
//!   `serde_json::from_slice::<serde_json::Value>`.
//! - CycloneDX: a generated 5 MB SBOM (cyclonedx-py-shaped components with licenses, hashes
//!   and references, and a dependency chain) through `cyclonedx::summarise`, against the same.
//!
//! `cargo bench -p ward-evidence --bench parsers`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::events::Event;
use std::hint::black_box;
use ward_evidence::{junit, sarif};

fn junit_report(cases: usize) -> Vec<u8> {
    let mut s = String::from(r#"<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">"#);
    let failures = cases / 20;
    s.push_str(&format!(
        r#"<testsuite name="pytest" errors="0" failures="{failures}" skipped="0" tests="{cases}" time="12.5">"#
    ));
    for i in 0..cases {
        if i % 20 == 0 {
            s.push_str(&format!(
                r#"<testcase classname="tests.test_module_{m}" name="test_case_{i}" time="0.012"><failure message="assert {i} == {j}">def test_case_{i}():
&gt;       assert compute({i}) == {j}
E       assert {i} == {j}

tests/test_module_{m}.py:{i}: AssertionError</failure></testcase>"#,
                m = i / 100,
                j = i + 1
            ));
        } else {
            s.push_str(&format!(
                r#"<testcase classname="tests.test_module_{}" name="test_case_{i}" time="0.001" />"#,
                i / 100
            ));
        }
    }
    s.push_str("</testsuite></testsuites>");
    s.into_bytes()
}

fn sarif_log(target_bytes: usize) -> Vec<u8> {
    let mut results = Vec::new();
    let mut size = 0usize;
    let mut i = 0usize;
    while size < target_bytes {
        let r = format!(
            r#"{{"ruleId":"rule-{r}","level":"{lvl}","message":{{"text":"finding {i} in a file that does something"}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"src/module_{m}/file_{i}.py","uriBaseId":"%SRCROOT%"}},"region":{{"startLine":{i},"startColumn":5,"endLine":{i},"endColumn":42,"snippet":{{"text":"    value = eval(user_input)  # finding {i}"}}}}}}}}],"fingerprints":{{"matchBasedId/v1":"{i:064x}"}},"properties":{{}}}}"#,
            r = i % 40,
            lvl = ["error", "warning", "note"][i % 3],
            m = i % 17
        );
        size += r.len() + 1;
        results.push(r);
        i += 1;
    }
    let rules: Vec<String> = (0..40)
        .map(|r| {
            format!(
                r#"{{"id":"rule-{r}","shortDescription":{{"text":"rule {r}"}},"properties":{{"security-severity":"{}.5"}}}}"#,
                r % 10
            )
        })
        .collect();
    format!(
        r#"{{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{{"tool":{{"driver":{{"name":"Semgrep OSS","semanticVersion":"1.182.0","rules":[{}]}}}},"results":[{}]}}]}}"#,
        rules.join(","),
        results.join(",")
    )
    .into_bytes()
}

fn cyclonedx_sbom(target_bytes: usize) -> Vec<u8> {
    let mut comps = Vec::new();
    let mut deps = Vec::new();
    let mut size = 0usize;
    let mut i = 0usize;
    while size < target_bytes {
        let c = format!(
            r#"{{"bom-ref":"pkg-{i}","type":"library","name":"package-{i}","version":"1.{v}.0","description":"A library that does thing number {i} for the application","purl":"pkg:pypi/package-{i}@1.{v}.0","licenses":[{{"license":{{"id":"{lic}","acknowledgement":"declared"}}}}],"externalReferences":[{{"type":"website","url":"https://example.org/package-{i}"}},{{"type":"vcs","url":"https://github.com/example/package-{i}"}}],"hashes":[{{"alg":"SHA-256","content":"{i:064x}"}}]}}"#,
            v = i % 30,
            lic = ["MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0"][i % 4]
        );
        let d = if i > 0 {
            format!(r#"{{"ref":"pkg-{i}","dependsOn":["pkg-{}"]}}"#, i - 1)
        } else {
            r#"{"ref":"pkg-0"}"#.to_string()
        };
        size += c.len() + d.len() + 2;
        comps.push(c);
        deps.push(d);
        i += 1;
    }
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{}],"dependencies":[{}]}}"#,
        comps.join(","),
        deps.join(",")
    )
    .into_bytes()
}

/// The same kind of SBOM as [`cyclonedx_sbom`], in CycloneDX XML.
fn cyclonedx_xml(target_bytes: usize) -> Vec<u8> {
    let mut comps = String::new();
    let mut deps = String::new();
    let mut i = 0usize;
    while comps.len() + deps.len() < target_bytes {
        comps.push_str(&format!(
            r#"<component type="library" bom-ref="pkg-{i}"><name>package-{i}</name><version>1.{v}.0</version><description>A library that does thing number {i} for the application</description><hashes><hash alg="SHA-256">{i:064x}</hash></hashes><licenses><license acknowledgement="declared"><id>{lic}</id></license></licenses><purl>pkg:pypi/package-{i}@1.{v}.0</purl><externalReferences><reference type="website"><url>https://example.org/package-{i}</url></reference></externalReferences></component>"#,
            v = i % 30,
            lic = ["MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0"][i % 4]
        ));
        if i > 0 {
            deps.push_str(&format!(
                r#"<dependency ref="pkg-{i}"><dependency ref="pkg-{}"/></dependency>"#,
                i - 1
            ));
        } else {
            deps.push_str(r#"<dependency ref="pkg-0"/>"#);
        }
        i += 1;
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><components>{comps}</components><dependencies>{deps}</dependencies></bom>"#
    )
    .into_bytes()
}

/// A Trivy report (SchemaVersion 2) of about `target_bytes`.
fn trivy_report(target_bytes: usize) -> Vec<u8> {
    let mut vulns = Vec::new();
    let mut size = 0usize;
    let mut i = 0usize;
    while size < target_bytes {
        let v = format!(
            r#"{{"VulnerabilityID":"CVE-2024-{i}","PkgID":"lib{p}@1.{i}","PkgName":"lib{p}","InstalledVersion":"1.{i}","FixedVersion":"{fix}","Status":"fixed","Layer":{{"DiffID":"sha256:{i:064x}"}},"SeveritySource":"nvd","PrimaryURL":"https://avd.aquasec.com/nvd/cve-2024-{i}","Title":"lib{p}: memory corruption in parser number {i}","Description":"A flaw was found in lib{p} where a crafted input could cause memory corruption when parsing.","Severity":"{sev}","CVSS":{{"nvd":{{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","V3Score":9.8}}}}}}"#,
            p = i % 200,
            fix = if i.is_multiple_of(3) { "" } else { "2.0.0" },
            sev = ["CRITICAL", "HIGH", "MEDIUM", "LOW"][i % 4]
        );
        size += v.len() + 1;
        vulns.push(v);
        i += 1;
    }
    format!(
        r#"{{"SchemaVersion":2,"ArtifactName":"registry.example/app:1","ArtifactType":"container_image","Results":[{{"Target":"app (debian 12)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[{}]}}]}}"#,
        vulns.join(",")
    )
    .into_bytes()
}

fn raw_xml(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e) | Event::Empty(e)) => {
                for a in e.attributes().flatten() {
                    n += a.value.len();
                }
            }
            Ok(_) => n += 1,
        }
        buf.clear();
    }
    n
}

fn parsers(c: &mut Criterion) {
    let junit_bytes = junit_report(10_000);
    let mut g = c.benchmark_group("junit_10k_cases");
    g.throughput(Throughput::Bytes(junit_bytes.len() as u64));
    g.sample_size(30);
    g.bench_function("ward_summarise", |b| {
        b.iter(|| junit::summarise(black_box(&junit_bytes), usize::MAX).expect("parses"))
    });
    g.bench_function("quick_xml_raw", |b| b.iter(|| raw_xml(black_box(&junit_bytes))));
    g.finish();

    let sarif_bytes = sarif_log(5 * 1024 * 1024);
    let mut g = c.benchmark_group("sarif_5MB");
    g.throughput(Throughput::Bytes(sarif_bytes.len() as u64));
    g.sample_size(20);
    g.bench_function("ward_summarise", |b| {
        b.iter(|| sarif::summarise(black_box(&sarif_bytes), usize::MAX).expect("parses"))
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&sarif_bytes)).expect("json"))
    });
    g.finish();

    let sbom = cyclonedx_sbom(5 * 1024 * 1024);
    let mut g = c.benchmark_group("cyclonedx_5MB");
    g.throughput(Throughput::Bytes(sbom.len() as u64));
    g.sample_size(20);
    g.bench_function("ward_summarise", |b| {
        b.iter(|| ward_evidence::cyclonedx::summarise(black_box(&sbom), usize::MAX).expect("parses"))
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&sbom)).expect("json"))
    });
    g.finish();

    let xml = cyclonedx_xml(5 * 1024 * 1024);
    let mut g = c.benchmark_group("cyclonedx_xml_5MB");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.sample_size(20);
    g.bench_function("ward_summarise", |b| {
        b.iter(|| ward_evidence::cyclonedx::summarise(black_box(&xml), usize::MAX).expect("parses"))
    });
    g.bench_function("quick_xml_raw", |b| b.iter(|| raw_xml(black_box(&xml))));
    g.finish();

    let trivy = trivy_report(5 * 1024 * 1024);
    let mut g = c.benchmark_group("trivy_5MB");
    g.throughput(Throughput::Bytes(trivy.len() as u64));
    g.sample_size(20);
    g.bench_function("ward_summarise", |b| {
        b.iter(|| ward_evidence::vulns::summarise(black_box(&trivy), usize::MAX).expect("parses"))
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&trivy)).expect("json"))
    });
    g.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
