// Small progressive enhancements; every page works without them.
document.documentElement.classList.add("js");

// What a busy form says while the server works: "Sharing with 5 tenants…".
function busyText(form) {
  const typed = form.querySelector("textarea[name=members]");
  if (!typed) return form.dataset.busy;
  const ids = new Set(
    typed.value.split(/[,;\n\r]+/).map((part) => part.trim()).filter(Boolean)
  );
  form.querySelectorAll("input[name=partners]:checked").forEach((box) => ids.add(`partner:${box.value}`));
  if (ids.size === 0) return form.dataset.busy;
  return ids.size === 1 ? "Sharing with 1 tenant…" : `Sharing with ${ids.size} tenants…`;
}

document.addEventListener("DOMContentLoaded", () => {
  // Switchers submit on change.
  document.querySelectorAll("form[data-autosubmit] select").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });

  // Destructive actions ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Slow actions: one submit only, and say what is happening. The server treats a second
  // share of the same tenant as "already shared" anyway.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      // The buttons carry no name, so disabling them takes nothing from the form's data.
      form.querySelectorAll("button[type=submit]").forEach((button) => {
        button.disabled = true;
      });
      const status = form.querySelector(".busy");
      if (status) status.textContent = busyText(form);
    });
  });

  // Copy buttons: copy the value of the input they name.
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        input.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      window.setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  });

  // Times in the viewer's own time zone; the exact UTC time stays in the title.
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[data-local]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) el.textContent = fmt.format(when);
  });
});
