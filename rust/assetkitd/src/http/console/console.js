// assetkit console: the little that plain HTML cannot do. No framework, no build step.
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" for the discovered queue.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
    });
  }
  // Ask before destructive actions (revoking a key, retiring an asset).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
