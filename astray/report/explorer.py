"""The explorer: one self-contained HTML page, written from the result cube, where a reader picks a model,
dataset kind, seed, training-set size, probe and error and sees the probe curves against every reference,
the learning curve with its fitted law and interval, and the parity of holdout energies.

Everything the page draws is in the page: the cube's numbers as JSON and plotly.js inlined, so it opens
from a file, offline, with no server. The drawing is done in the browser, so changing a control redraws
from the same numbers the cube holds.
"""

import json
from html import escape
from pathlib import Path

import numpy as np
import plotly
from plotly.offline import get_plotlyjs

from astray.evaluation.scaling import target_errors
from astray.io import write_atomically
from astray.report.findings import target_name

# The holdout errors a reader can pick first, then every probe's, in the cube's `target` order.
HOLDOUT_TARGETS = ("test_mae_equilibrium", "test_mae")


def write_explorer(cube, path) -> None:
    page = explorer_html(cube)
    write_atomically(path, lambda temporary: Path(temporary).write_text(page))


def explorer_html(cube) -> str:
    data = json.dumps(explorer_data(cube), separators=(",", ":"), allow_nan=False)
    title = f"astray explorer · {cube.attrs.get('label_method', '')}"
    # "</" may not appear inside a script element; JSON allows its slash escaped.
    return PAGE.format(title=escape(title), plotly_version=plotly.__version__, plotlyjs=get_plotlyjs(),
                       data=data.replace("</", "<\\/"), script=SCRIPT)  # fmt: skip


def explorer_data(cube) -> dict:
    """What the page draws, as plain lists (NaN as null), indexed in the order of the name lists."""
    targets = [t for t in HOLDOUT_TARGETS if t in cube.target.values]
    targets += [t for t in cube.target.values if t.startswith("probe_mae/")]
    runs = ("model", "kind", "seed", "size")
    return {
        "label_method": cube.attrs.get("label_method", "label method"),
        **{name + "s": _plain(cube[name].values) for name in (*runs, "probe")},
        "reference_names": _plain(cube.reference.values),
        "distance": _plain(cube.distance.values),
        "reference_curves": _plain(cube.reference_energy.transpose("probe", "reference", "distance").values),
        "predicted": _plain(cube.predicted_energy.transpose(*runs, "probe", "distance").values),
        "targets": targets,
        "target_names": [target_name(t) for t in targets],
        "errors": [_plain(target_errors(cube, t).transpose(*runs).values) for t in targets],
        "fits": [_fits(cube.sel(target=t)) for t in targets],
        "holdout": _holdout(cube),
    }


def _fits(fit) -> dict:
    """The pure power law of every model and kind (amplitude, exponent and its 95% t-interval over seeds)."""
    names = ("scaling_amplitude", "scaling_exponent", "scaling_exponent_ci_low", "scaling_exponent_ci_high")
    return {name.removeprefix("scaling_"): _plain(fit[name].transpose("model", "kind").values) for name in names}


def _holdout(cube) -> dict:
    if "test_predicted_energy" not in cube:
        return {"reference": [], "origin": [], "predicted": None}
    return {
        "reference": _plain(cube.test_reference_energy.values),
        "origin": [str(origin) for origin in cube.test_origin.values],
        "predicted": _plain(
            cube.test_predicted_energy.transpose("model", "kind", "seed", "size", "test_geometry").values
        ),
    }


def _plain(values):
    """Lists of Python numbers and strings, NaN as None (JSON has no NaN)."""
    array = np.asarray(values)
    if array.dtype.kind in "fc":
        return np.where(np.isfinite(array), array, None).tolist()
    if array.dtype.kind in "iub":
        return array.tolist()
    return array.astype(str).tolist()


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: sans-serif; margin: 1em 2em; color: #222; }}
  #controls label {{ margin-right: 1.2em; font-size: 0.95em; }}
  #plots {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 0.5em; }}
  .plot {{ height: 430px; }}
  p.note {{ font-size: 0.85em; color: #555; max-width: 70em; }}
</style>
<!-- plotly.js {plotly_version}, inlined: the page needs no network. -->
<script>{plotlyjs}</script>
</head>
<body>
<h2>{title}</h2>
<div id="controls">
  <label>model <select id="model"></select></label>
  <label>kind <select id="kind"></select></label>
  <label>seed <select id="seed"></select></label>
  <label>size N <select id="size"></select></label>
  <label>probe <select id="probe"></select></label>
  <label>error <select id="target"></select></label>
</div>
<div id="plots">
  <div id="curves" class="plot"></div>
  <div id="learning" class="plot"></div>
  <div id="parity" class="plot"></div>
</div>
<p class="note">Energies in eV, distances in Å. Probe energies are relative to the probe's separated
fragments; holdout energies are atomization energies. Learning curve: every seed's runs (the picked seed
filled), the pure power law a·N<sup>-b</sup> fitted per seed with b's mean and 95% t-interval over seeds.</p>
<script type="application/json" id="astray-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

SCRIPT = r"""
const data = JSON.parse(document.getElementById("astray-data").textContent);
const controls = {
  model: data.models, kind: data.kinds, seed: data.seeds, size: data.sizes, probe: data.probes,
  target: data.target_names,
};
const referenceStyles = {exact: "solid", fci: "dot", label_method: "dash"};
// No toolbar over the titles: dragging zooms, a double click resets.
const plotConfig = {displayModeBar: false, responsive: true};

function picked(name) { return document.getElementById(name).selectedIndex; }

function fillControls() {
  for (const [name, values] of Object.entries(controls)) {
    const select = document.getElementById(name);
    values.forEach((value, i) => select.add(new Option(String(value), String(i))));
    select.selectedIndex = name === "size" ? values.length - 1 : 0;
    select.addEventListener("change", draw);
  }
}

function drawCurves() {
  const [m, k, s, n, p] = ["model", "kind", "seed", "size", "probe"].map(picked);
  const traces = data.reference_names.map((reference, r) => ({
    x: data.distance, y: data.reference_curves[p][r], name: referenceName(reference),
    mode: "lines", line: {color: "black", dash: referenceStyles[reference] || "solid", width: 1.5},
  })).filter(trace => trace.y.some(v => v !== null));
  traces.push({
    x: data.distance, y: data.predicted[m][k][s][n][p], mode: "lines+markers",
    name: data.models[m] + ", N = " + data.sizes[n],
    line: {color: "#1f77b4"}, marker: {size: 5},
  });
  const bound = data.probes[p] !== "H2_2plus";
  Plotly.react("curves", traces, {
    title: {text: data.probes[p] + " · " + data.models[m] + " · " + data.kinds[k] + " · seed " + data.seeds[s]},
    xaxis: {title: {text: "distance (Å)"}, type: "log", tickvals: [0.3, 0.5, 1, 2, 3, 5]},
    yaxis: {title: {text: "energy rel. to fragments (eV)"}, range: bound ? [-8, 8] : undefined},
    legend: {orientation: "h", y: -0.25}, margin: {t: 60},
  }, plotConfig);
}

function referenceName(name) {
  return name === "label_method" ? "label method (" + data.label_method + ")" : name;
}

function drawLearning() {
  const [m, k, s, t] = ["model", "kind", "seed", "target"].map(picked);
  const errors = data.errors[t][m][k];
  const traces = data.seeds.map((seed, i) => ({
    x: data.sizes, y: errors[i], mode: "markers", name: "seed " + seed,
    marker: {size: i === s ? 10 : 7, symbol: i === s ? "circle" : "circle-open", color: "#1f77b4"},
  }));
  const fit = data.fits[t];
  const [a, b, low, high] = ["amplitude", "exponent", "exponent_ci_low", "exponent_ci_high"].map(f => fit[f][m][k]);
  let title = data.target_names[t];
  if (a !== null && b !== null) {
    const sizes = data.sizes.filter(size => size > 0);
    traces.push({x: sizes, y: sizes.map(size => a * Math.pow(size, -b)), mode: "lines", name: "a·N^-b",
                 line: {color: "black", dash: "dash"}});
    const interval = low !== null ? " (95% t-interval " + low.toFixed(2) + " to " + high.toFixed(2) + ")" : "";
    title += "<br>b = " + b.toFixed(2) + interval;
  }
  Plotly.react("learning", traces, {
    title: {text: title, font: {size: 13}}, margin: {t: 60},
    xaxis: {title: {text: "training-set size N"}, type: "log", tickvals: data.sizes},
    yaxis: {title: {text: "error (eV)"}, type: "log"},
    legend: {orientation: "h", y: -0.25},
  }, plotConfig);
}

function drawParity() {
  const [m, k, s, n] = ["model", "kind", "seed", "size"].map(picked);
  const holdout = data.holdout;
  if (!holdout.predicted) {
    Plotly.react("parity", [], {title: {text: "no holdout energies in this cube"}}, plotConfig);
    return;
  }
  const predicted = holdout.predicted[m][k][s][n];
  const traces = ["equilibrium", "distorted"].map(group => {
    const keep = holdout.origin.map(origin => (origin === "equilibrium") === (group === "equilibrium"));
    return {
      x: holdout.reference.filter((_, i) => keep[i]), y: predicted.filter((_, i) => keep[i]),
      mode: "markers", name: group, marker: {size: 5, opacity: 0.7},
    };
  });
  const values = holdout.reference.concat(predicted).filter(v => v !== null);
  const limits = [Math.min(...values), Math.max(...values)];
  traces.push({x: limits, y: limits, mode: "lines", name: "parity", line: {color: "grey", width: 1}});
  let total = 0, count = 0;
  predicted.forEach((v, i) => { if (v !== null) { total += Math.abs(v - holdout.reference[i]); count += 1; } });
  Plotly.react("parity", traces, {
    title: {text: "holdout · N = " + data.sizes[n] + " · MAE " + (total / count).toFixed(3) + " eV",
            font: {size: 13}},
    xaxis: {title: {text: "label atomization energy (eV)"}}, yaxis: {title: {text: "predicted (eV)"}},
    legend: {orientation: "h", y: -0.25}, margin: {t: 60},
  }, plotConfig);
}

function draw() { drawCurves(); drawLearning(); drawParity(); }

fillControls();
draw();
"""
