// The evaluator's score sheet (templates/evaluator/assignment.html): a range slider bound to each criterion's number
// input, "not applicable" disabling it, and the running total and pass state as the evaluator types.
// Progressive enhancement only: without it the sheet is a number input per criterion, and the server works out the
// total and the pass state again on every save (app/services/reviews.py sheet_result, with the ranking's rule
// `ranking.pass_failures`: total >= the pass mark and every criterion with a minimum at or above it; a criterion
// not applicable or not scored counts as below its minimum). Scores are counted in half points, as stored.
(function () {
  "use strict";
  var form = document.getElementById("score-sheet");
  var panel = document.getElementById("sheet-result");
  if (!form || !panel) { return; }
  var lang = panel.getAttribute("data-lang") || "lv";
  var passMark = parseInt(panel.getAttribute("data-pass-mark"), 10);
  var criteria = Array.prototype.slice.call(form.querySelectorAll("fieldset.criterion"));

  function text(name, values) {
    var template = panel.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { template = template.split("{" + key + "}").join(values[key]); });
    return template;
  }

  function points(halfPoints) {  // as app/formatting.points: 7 → "3,5" in Latvian, "3.5" in English
    var shown = (halfPoints / 2).toFixed(2).replace(/\.?0+$/, "");
    return lang === "lv" ? shown.replace(".", ",") : shown;
  }

  function halfPoints(typed, max, step) {  // points as typed → half points, or null when blank or off the scale
    var cleaned = (typed || "").trim().replace(",", ".");
    if (!/^\d+(\.\d+)?$/.test(cleaned)) { return null; }
    var doubled = parseFloat(cleaned) * 2;
    if (doubled !== Math.round(doubled) || doubled < 0 || doubled > max || doubled % step !== 0) { return null; }
    return doubled;
  }

  function parts(fieldset) {
    return {
      input: fieldset.querySelector("input.score-input"),
      na: fieldset.querySelector("input.not-applicable"),
      slider: fieldset.querySelector("input.score-slider"),
      max: parseInt(fieldset.getAttribute("data-max"), 10),
      step: parseInt(fieldset.getAttribute("data-step"), 10),
      min: fieldset.getAttribute("data-min") === "" ? null : parseInt(fieldset.getAttribute("data-min"), 10),
      code: fieldset.getAttribute("data-code")
    };
  }

  function update() {
    var total = 0, scored = 0, failures = [];
    criteria.forEach(function (fieldset) {
      var p = parts(fieldset);
      var value = p.na.checked ? null : halfPoints(p.input.value, p.max, p.step);
      if (p.na.checked || value !== null) { scored += 1; }
      if (value !== null) { total += value; }
      if (p.min !== null && (value === null || value < p.min)) {
        failures.push(text("minimum", { code: p.code }));
      }
    });
    if (total < passMark) { failures.unshift(text("total-below", { mark: points(passMark) })); }
    document.getElementById("sheet-total").textContent = points(total);
    document.getElementById("sheet-scored").textContent = text("scored", { n: scored, total: criteria.length });
    var state = document.getElementById("sheet-pass");
    state.textContent = failures.length ? text("fails") + " " + failures.join("; ") + "." : text("passes");
    state.classList.toggle("text-success", !failures.length);
    state.classList.toggle("text-danger", failures.length > 0);
  }

  criteria.forEach(function (fieldset) {
    var p = parts(fieldset);
    var slider = document.createElement("input");
    slider.type = "range";
    slider.className = "form-range score-slider mt-2";
    slider.min = "0";
    slider.max = String(p.max / 2);
    slider.step = String(p.step / 2);
    slider.setAttribute("aria-label", p.input.labels && p.input.labels[0] ? p.input.labels[0].textContent : p.code);
    slider.tabIndex = -1;  // the number input is the field for the keyboard; the slider is for the pointer
    var current = halfPoints(p.input.value, p.max, p.step);
    slider.value = current === null ? "0" : String(current / 2);
    p.input.insertAdjacentElement("afterend", slider);

    function syncNa() {
      p.input.disabled = p.na.checked;
      slider.disabled = p.na.checked;
    }
    slider.addEventListener("input", function () { p.input.value = slider.value; update(); });
    p.input.addEventListener("input", function () {
      var value = halfPoints(p.input.value, p.max, p.step);
      if (value !== null) { slider.value = String(value / 2); }
      update();
    });
    p.na.addEventListener("change", function () { syncNa(); update(); });
    syncNa();
  });
  update();

  var summary = document.getElementById("sheet-missing") || document.getElementById("sheet-invalid");
  if (summary) { summary.focus(); }
})();
