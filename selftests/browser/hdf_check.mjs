// HDF files read by MITRE's inspecjs as Heimdall reads one (apps/frontend/src/store/report_intake.ts,
// loadText): convertFile(text, true), which must give an execution ('1_0_ExecJson'), then
// contextualizeEvaluation. Answers, per file, the host and each control's status as inspecjs
// computes it (root.hdf.status), whether it is waived, its severity, and the counts Heimdall's
// status cards show (apps/frontend/src/store/status_counts.ts). A file that is not an execution
// ends the script with an error (exit code 1).
//
//   node hdf_check.mjs FILE...
import { readFileSync } from "node:fs";
import { contextualizeEvaluation, convertFile } from "inspecjs";
import { answer } from "./chromium.mjs";

const STATUSES = ["Passed", "Failed", "Not Applicable", "Not Reviewed", "Profile Error", "From Profile"];

function evaluationOf(path) {
  const text = readFileSync(path, "utf8");
  // Heimdall's isHDF: an execution has a profiles array (else it tries the other formats)
  if (!Array.isArray(JSON.parse(text).profiles)) throw new Error(`${path}: no profiles array, not an HDF execution`);
  const converted = convertFile(text, true);
  if (!converted["1_0_ExecJson"]) {
    const errors = Object.entries(converted.errors || {}).map(([kind, e]) => `${kind}: ${e}`);
    throw new Error(`${path}: inspecjs does not read it as an execution (${errors.join("; ") || "no execution"})`);
  }
  return contextualizeEvaluation(converted["1_0_ExecJson"]);
}

// As status_counts.ts counts: each control's root status; Waived is the number of results of the
// waived Not Applicable controls (Heimdall's "INFO: N Waived Tests" card).
function summary(path) {
  const evaluation = evaluationOf(path);
  const counts = Object.fromEntries([...STATUSES, "Waived"].map((s) => [s, 0]));
  const controls = {};
  for (const profile of evaluation.contains) {
    for (const control of profile.contains) {
      const hdf = control.root.hdf;
      counts[hdf.status] += 1;
      if (hdf.status === "Not Applicable" && hdf.waived) counts.Waived += (hdf.segments || []).length;
      controls[control.data.id] = {
        status: hdf.status,
        waived: hdf.waived,
        severity: hdf.severity,
        impact: control.data.impact,
        segments: (hdf.segments || []).map((s) => s.status),
        nist: hdf.rawNistTags,
      };
    }
  }
  const platform = evaluation.data.platform;
  return {
    file: path,
    host: platform.target_id,
    platform: { name: platform.name, release: platform.release },
    profiles: evaluation.contains.map((p) => p.data.name),
    controls,
    counts,
  };
}

const paths = process.argv.slice(2);
if (paths.length === 0) throw new Error("usage: node hdf_check.mjs FILE...");
answer(paths.map(summary));
