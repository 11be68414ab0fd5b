// Small DOM helpers: elements, labelled fields, forms that show a problem's detail next to
// the field it names, a confirmation dialog, and photos drawn from authorized fetches.
// Everything is built with the DOM API: no HTML strings, so no data can become markup, and
// no inline handlers, which the page's CSP (script-src 'self') would refuse anyway.

import { call } from "./api.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === "text") {
      element.textContent = value;
    } else if (name.startsWith("on")) {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, value);
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return element;
}

let fieldCounter = 0;

// A labelled control. kind: "input" (default), "select" or "textarea"; options for selects
// as [value, label] pairs. The hint and the error are tied to the control for screen readers.
export function field(label, name, attributes = {}, extra = {}) {
  fieldCounter += 1;
  const id = attributes.id || "f-" + name + "-" + fieldCounter;
  const errorId = id + "-error";
  const hintId = extra.hint ? id + "-hint" : null;
  let control;
  const common = {
    id,
    name,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    ...attributes,
  };
  if (extra.kind === "select") {
    control = h(
      "select",
      common,
      (extra.options || []).map(([value, text]) => h("option", { value, text })),
    );
    if (extra.value !== undefined) {
      control.value = extra.value;
    }
  } else if (extra.kind === "textarea") {
    control = h("textarea", common);
    control.value = extra.value || "";
  } else {
    control = h("input", { type: "text", ...common });
    if (extra.value !== undefined && extra.value !== null) {
      control.value = extra.value;
    }
  }
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id, text: label }),
    extra.hint ? h("p", { class: "hint", id: hintId, text: extra.hint }) : null,
    control,
    h("p", { class: "field-error", id: errorId, role: "alert" }),
  );
}

// A problem+json answer as a sentence.
export function problemText(result) {
  const data = result.data;
  if (!data || typeof data !== "object" || !(data.detail || data.title)) {
    return "That did not work (HTTP " + result.status + "). Try again.";
  }
  return data.detail || data.title;
}

// Shows a failed answer: each invalid field's message beside that field, and the detail at
// the form's top. fieldOf maps codes without an errors list (weak_password) to a field.
export function showProblem(formElement, result, fieldOf = {}) {
  clearProblem(formElement);
  const data = result.data || {};
  let placed = false;
  const place = (name, message) => {
    const wrapper = formElement.querySelector('[data-field="' + CSS.escape(name) + '"]');
    if (!wrapper) {
      return false;
    }
    wrapper.classList.add("invalid");
    wrapper.querySelector(".field-error").textContent = message;
    const control = wrapper.querySelector("input, select, textarea");
    control.setAttribute("aria-invalid", "true");
    if (!placed) {
      control.focus();
    }
    placed = true;
    return true;
  };
  if (Array.isArray(data.errors)) {
    for (const error of data.errors) {
      place(error.field, error.message || problemText(result));
    }
  }
  const codeField = fieldOf[data.code];
  if (!placed && codeField) {
    place(codeField, problemText(result));
  }
  const summary = formElement.querySelector(".form-error");
  summary.textContent = problemText(result);
  if (!placed) {
    summary.focus();
  }
}

export function clearProblem(formElement) {
  for (const wrapper of formElement.querySelectorAll(".field.invalid")) {
    wrapper.classList.remove("invalid");
    wrapper.querySelector(".field-error").textContent = "";
    wrapper.querySelector("input, select, textarea").removeAttribute("aria-invalid");
  }
  formElement.querySelector(".form-error").textContent = "";
}

// A form whose submit handler gets the values; the handler answers a result to show as a
// problem, or nothing when it succeeded.
export function form(attributes, fields, submitLabel, onSubmit, options = {}) {
  const button = h("button", { type: "submit", text: submitLabel });
  const element = h(
    "form",
    { novalidate: true, ...attributes },
    h("p", { class: "form-error", role: "alert", tabindex: "-1" }),
    fields,
    h("div", { class: "actions" }, button, options.extraButtons || null),
  );
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(element);
    button.disabled = true;
    try {
      const result = await onSubmit(values(element), element);
      if (result && result.status !== undefined && !(result.status >= 200 && result.status < 300)) {
        showProblem(element, result, options.fieldOf || {});
      }
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function values(formElement) {
  const result = {};
  for (const control of formElement.elements) {
    if (!control.name) {
      continue;
    }
    if (control.type === "checkbox") {
      result[control.name] = control.checked;
    } else if (control.type === "file") {
      result[control.name] = control.files[0] || null;
    } else {
      result[control.name] = control.value;
    }
  }
  return result;
}

// Page-level messages: a polite live region that every page shares.
export function say(message, kind = "ok") {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = kind;
}

// A modal confirmation (the native dialog element keeps focus inside and closes on Escape).
export function confirmAction(question, confirmLabel) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: "danger", text: confirmLabel });
    const no = h("button", { type: "button", class: "secondary", text: "Cancel" });
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-question" },
      h("p", { id: "confirm-question", text: question }),
      h("div", { class: "actions" }, yes, no),
    );
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => finish(true));
    no.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

// Photos need the bearer token, which an <img src> cannot send, and the CSP allows no blob:
// images: the picture is fetched and drawn on a canvas. Lazily, when it scrolls into view, so
// a class page with many students costs one request per visible thumbnail, later.
const observer =
  "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            loadPicture(entry.target);
          }
        }
      })
    : null;

async function loadPicture(canvas) {
  const result = await call("GET", canvas.dataset.src, undefined, { blob: true });
  if (result.status !== 200) {
    canvas.classList.add("missing");
    if (canvas.dataset.missing) {
      canvas.setAttribute("aria-label", canvas.dataset.missing);
    }
    return;
  }
  await drawBlob(canvas, result.data);
}

export async function drawBlob(canvas, blob) {
  try {
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
    const width = bitmap.width * scale;
    const height = bitmap.height * scale;
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, (canvas.width - width) / 2, (canvas.height - height) / 2, width, height);
    canvas.classList.add("loaded");
  } catch (error) {
    canvas.classList.remove("loaded");
  }
}

// missing: the label to show when there turns out to be no picture.
export function picture(src, label, size = 64, missing = null) {
  const canvas = h("canvas", {
    class: "photo",
    width: String(size),
    height: String(size),
    role: "img",
    "aria-label": label,
  });
  if (missing) {
    canvas.dataset.missing = missing;
  }
  if (src) {
    canvas.dataset.src = src;
    if (observer) {
      observer.observe(canvas);
    } else {
      loadPicture(canvas);
    }
  }
  return canvas;
}

export function link(href, text, attributes = {}) {
  return h("a", { href, text, ...attributes });
}

export function when(value) {
  return value ? new Date(value).toLocaleString() : "—";
}
