// Classes and students: lists, create, rename, delete, enrollments and photos.
// A class page costs three requests whatever its size (the class, its students, my other
// students for the enroll list); thumbnails load lazily, one each as they come into view.

import { call, listAll, upload } from "./api.js";
import { go } from "./nav.js";
import { confirmAction, drawBlob, field, form, h, link, picture, say } from "./ui.js";

const MAY_EDIT = new Set(["owner", "editor"]);

function failed(result, what) {
  if (result.status === 404) {
    return [h("h1", { text: what + " not found" }), h("p", { text: "It does not exist, or it is no longer shared with you." }), h("p", {}, link("/#/", "Go to the home page"))];
  }
  return [h("h1", { text: what }), h("p", { class: "error", text: (result.data && result.data.detail) || "It could not be loaded." })];
}

function thumbOf(student, size = 48) {
  const src = student.photo_url ? "/v1/students/" + student.id + "/photo?size=thumb" : null;
  return picture(src, src ? "Photo of " + student.display_name : "No photo", size);
}

function accessBadge(access) {
  return h("span", { class: "badge " + access, text: access });
}

export async function classesPage() {
  const result = await listAll("/v1/classes");
  if (result.status !== 200) {
    return failed(result, "Classes");
  }
  const classes = result.data;
  return [
    h("h1", { text: "Classes" }),
    classes.length
      ? h(
          "ul",
          { class: "list", id: "class-list" },
          classes.map((item) =>
            h(
              "li",
              {},
              link("/#/classes/" + item.id, item.name),
              h("span", { class: "meta", text: [item.term, item.student_count + " students"].filter(Boolean).join(" · ") }),
              accessBadge(item.access),
            ),
          ),
        )
      : h("p", { text: "No classes yet." }),
    h("h2", { text: "New class" }),
    form(
      { id: "new-class-form" },
      [field("Class name", "name", { required: true, maxlength: "200" }), field("Term (optional)", "term", { maxlength: "100" }, { hint: "For example 2026 autumn." })],
      "Create class",
      async (values) => {
        const body = { name: values.name };
        if (values.term) {
          body.term = values.term;
        }
        const created = await call("POST", "/v1/classes", body);
        if (created.status === 201) {
          go("#/classes/" + created.data.id);
          say("Class created.");
          return null;
        }
        return created;
      },
    ),
  ];
}

export async function classPage(id) {
  const [klass, enrolled] = await Promise.all([call("GET", "/v1/classes/" + id), listAll("/v1/classes/" + id + "/students")]);
  if (klass.status !== 200) {
    return failed(klass, "Class");
  }
  const item = klass.data;
  const mayEdit = MAY_EDIT.has(item.access);
  const owner = item.access === "owner";
  const students = enrolled.status === 200 ? enrolled.data : [];
  const parts = [
    h("p", { class: "crumbs" }, link("/#/classes", "Classes")),
    h("h1", { text: item.name }),
    h("p", { class: "meta" }, item.term ? item.term + " · " : "", students.length + " students · your access: ", accessBadge(item.access)),
  ];
  if (owner) {
    parts.push(h("p", { class: "actions" }, link("/#/classes/" + id + "/sharing", "Sharing and access log", { class: "button", id: "sharing-link" })));
  }
  parts.push(h("h2", { text: "Students" }));
  parts.push(
    students.length
      ? h(
          "ul",
          { class: "list students", id: "student-list" },
          students.map((student) =>
            h(
              "li",
              {},
              thumbOf(student),
              link("/#/students/" + student.id, student.display_name),
              mayEdit
                ? h("button", {
                    type: "button",
                    class: "secondary small",
                    text: "Unenroll",
                    "aria-label": "Unenroll " + student.display_name,
                    onclick: async () => {
                      const result = await call("DELETE", "/v1/classes/" + id + "/students/" + student.id);
                      say(result.status === 204 ? student.display_name + " left the class." : (result.data && result.data.detail) || "Unenroll failed.", result.status === 204 ? "ok" : "error");
                      go("#/classes/" + id);
                    },
                  })
                : null,
            ),
          ),
        )
      : h("p", { text: "No students in this class yet." }),
  );
  if (mayEdit) {
    parts.push(
      h("h2", { text: "Add a new student" }),
      form(
        { id: "new-student-form" },
        [field("Display name", "display_name", { required: true, maxlength: "100" }, { hint: "An alias or a first name and last initial is enough." })],
        "Add student",
        async (values) => {
          const created = await call("POST", "/v1/students", { display_name: values.display_name, class_ids: [id] });
          if (created.status === 201) {
            go("#/students/" + created.data.id);
            say("Student added. You can add a photo now.");
            return null;
          }
          return created;
        },
      ),
    );
    const mine = await listAll("/v1/students");
    const others = mine.status === 200 ? mine.data.filter((s) => !s.class_ids.includes(id) && MAY_EDIT.has(s.access)) : [];
    if (others.length) {
      parts.push(
        h("h2", { text: "Enroll a student" }),
        form(
          { id: "enroll-form" },
          [field("Student", "student_id", {}, { kind: "select", options: others.map((s) => [s.id, s.display_name]) })],
          "Enroll",
          async (values) => {
            const result = await call("PUT", "/v1/classes/" + id + "/students/" + values.student_id);
            if (result.status === 204) {
              go("#/classes/" + id);
              say("Enrolled.");
              return null;
            }
            return result;
          },
        ),
      );
    }
  }
  if (owner) {
    parts.push(
      h("h2", { text: "Rename" }),
      form(
        { id: "rename-class-form" },
        [field("Class name", "name", { required: true, maxlength: "200" }, { value: item.name }), field("Term", "term", { maxlength: "100" }, { value: item.term || "" })],
        "Save",
        async (values) => {
          const result = await call("PATCH", "/v1/classes/" + id, { name: values.name, term: values.term || null });
          if (result.status === 200) {
            go("#/classes/" + id);
            say("Saved.");
            return null;
          }
          return result;
        },
      ),
      h("h2", { text: "Delete" }),
      h("p", { text: "Deleting the class ends its enrollments and every share of it. Its students stay in your roster." }),
      h("button", {
        type: "button",
        class: "danger",
        id: "delete-class",
        text: "Delete class",
        onclick: async () => {
          if (!(await confirmAction("Delete the class " + item.name + "? This cannot be undone.", "Delete class"))) {
            return;
          }
          const result = await call("DELETE", "/v1/classes/" + id);
          if (result.status === 204) {
            go("#/classes");
            say("Class deleted.");
          } else {
            say((result.data && result.data.detail) || "Delete failed.", "error");
          }
        },
      }),
    );
  }
  return parts;
}

function studentFields(student = {}) {
  return [
    field("Display name", "display_name", { required: true, maxlength: "100" }, { value: student.display_name, hint: "An alias or a first name and last initial is enough." }),
    field("Birth date (optional)", "birth_date", { type: "date" }, { value: student.birth_date || "" }),
    field("Gender (optional)", "gender", { maxlength: "50" }, { value: student.gender || "" }),
    field("Notes (optional)", "notes", { maxlength: "2000" }, { kind: "textarea", value: student.notes || "" }),
  ];
}

function studentBody(values, forUpdate) {
  const body = { display_name: values.display_name };
  for (const name of ["birth_date", "gender", "notes"]) {
    if (values[name]) {
      body[name] = values[name];
    } else if (forUpdate) {
      body[name] = null;
    }
  }
  return body;
}

export async function studentsPage() {
  const result = await listAll("/v1/students");
  if (result.status !== 200) {
    return failed(result, "Students");
  }
  return [
    h("h1", { text: "Students" }),
    result.data.length
      ? h(
          "ul",
          { class: "list students", id: "student-list" },
          result.data.map((student) => h("li", {}, thumbOf(student), link("/#/students/" + student.id, student.display_name), accessBadge(student.access))),
        )
      : h("p", { text: "No students yet." }),
    h("h2", { text: "Add a student" }),
    form({ id: "new-student-form" }, studentFields(), "Add student", async (values) => {
      const created = await call("POST", "/v1/students", studentBody(values, false));
      if (created.status === 201) {
        go("#/students/" + created.data.id);
        say("Student added.");
        return null;
      }
      return created;
    }),
  ];
}

function photoSection(student) {
  const id = student.id;
  const current = picture(student.photo_url ? "/v1/students/" + id + "/photo?size=full" : null, student.photo_url ? "Photo of " + student.display_name : "No photo yet", 192);
  const preview = h("canvas", { class: "photo preview", width: "192", height: "192", hidden: true, role: "img", "aria-label": "Preview of the chosen photo" });
  const progress = h("progress", { id: "upload-progress", max: "1", value: "0", hidden: true, "aria-label": "Upload progress" });
  const progressText = h("p", { id: "upload-progress-text", role: "status" });
  const photoForm = form(
    { id: "photo-form" },
    [field("Choose a photo (JPEG, PNG or WebP, up to 5 MiB)", "photo", { type: "file", accept: "image/jpeg,image/png,image/webp", required: true }), preview, progress, progressText],
    "Upload photo",
    async (values) => {
      if (!values.photo) {
        return { status: 422, data: { detail: "Choose a photo first.", errors: [{ field: "photo", message: "Choose a photo first." }] } };
      }
      progress.hidden = false;
      progress.value = 0;
      progressText.textContent = "Uploading…";
      const result = await upload("/v1/students/" + id + "/photo", values.photo, (fraction) => {
        progress.value = fraction;
        progressText.textContent = "Uploading… " + Math.round(fraction * 100) + " %";
      });
      if (result.status === 200) {
        progress.value = 1;
        progressText.textContent = "Upload complete.";
        say("Photo saved. Stored photos keep no location or camera data.");
        current.dataset.src = "/v1/students/" + id + "/photo?size=full";
        const picture = await call("GET", current.dataset.src, undefined, { blob: true });
        if (picture.status === 200) {
          await drawBlob(current, picture.data);
          current.setAttribute("aria-label", "Photo of " + student.display_name);
        }
        return null;
      }
      progress.hidden = true;
      progressText.textContent = "";
      return result;
    },
    { fieldOf: { invalid_image: "photo", photo_too_large: "photo", unsupported_media_type: "photo" } },
  );
  photoForm.querySelector('input[type="file"]').addEventListener("change", async (event) => {
    const file = event.target.files[0];
    preview.hidden = !file;
    progress.hidden = true;
    progressText.textContent = "";
    if (file) {
      await drawBlob(preview, file);
    }
  });
  const remove = student.photo_url
    ? h("button", {
        type: "button",
        class: "secondary",
        text: "Remove photo",
        onclick: async () => {
          const result = await call("DELETE", "/v1/students/" + id + "/photo");
          say(result.status === 204 ? "Photo removed." : "The photo could not be removed.", result.status === 204 ? "ok" : "error");
          go("#/students/" + id);
        },
      })
    : null;
  return [h("h2", { text: "Photo" }), current, photoForm, remove];
}

export async function studentPage(id) {
  const result = await call("GET", "/v1/students/" + id);
  if (result.status !== 200) {
    return failed(result, "Student");
  }
  const student = result.data;
  const mayEdit = MAY_EDIT.has(student.access);
  const owner = student.access === "owner";
  const parts = [
    h("p", { class: "crumbs" }, link("/#/students", "Students")),
    h("h1", { text: student.display_name }),
    h("p", { class: "meta" }, "Your access: ", accessBadge(student.access)),
  ];
  if (!mayEdit) {
    parts.push(
      picture(student.photo_url ? "/v1/students/" + id + "/photo?size=full" : null, student.photo_url ? "Photo of " + student.display_name : "No photo", 192),
      h(
        "dl",
        { class: "details", id: "student-details" },
        h("dt", { text: "Birth date" }),
        h("dd", { text: student.birth_date || "—" }),
        h("dt", { text: "Gender" }),
        h("dd", { text: student.gender || "—" }),
        h("dt", { text: "Notes" }),
        h("dd", { text: student.notes || "—" }),
      ),
    );
    return parts;
  }
  if (owner) {
    parts.push(h("p", { class: "actions" }, link("/#/students/" + id + "/sharing", "Sharing and access log", { class: "button", id: "sharing-link" })));
  }
  parts.push(
    h("h2", { text: "Details" }),
    form({ id: "edit-student-form" }, studentFields(student), "Save", async (values) => {
      const saved = await call("PATCH", "/v1/students/" + id, studentBody(values, true));
      if (saved.status === 200) {
        say("Saved.");
        return null;
      }
      return saved;
    }),
    ...photoSection(student),
  );
  const classes = await listAll("/v1/classes");
  if (classes.status === 200) {
    const names = new Map(classes.data.map((c) => [c.id, c.name]));
    const open = classes.data.filter((c) => MAY_EDIT.has(c.access) && !student.class_ids.includes(c.id));
    parts.push(
      h("h2", { text: "Classes" }),
      student.class_ids.length
        ? h(
            "ul",
            { class: "list", id: "enrollments" },
            student.class_ids.map((classId) =>
              h(
                "li",
                {},
                link("/#/classes/" + classId, names.get(classId) || "A class"),
                h("button", {
                  type: "button",
                  class: "secondary small",
                  text: "Unenroll",
                  "aria-label": "Unenroll from " + (names.get(classId) || "the class"),
                  onclick: async () => {
                    await call("DELETE", "/v1/classes/" + classId + "/students/" + id);
                    go("#/students/" + id);
                  },
                }),
              ),
            ),
          )
        : h("p", { text: "Not enrolled in any class." }),
      open.length
        ? form({ id: "enroll-form" }, [field("Class", "class_id", {}, { kind: "select", options: open.map((c) => [c.id, c.name]) })], "Enroll", async (values) => {
            const enrolled = await call("PUT", "/v1/classes/" + values.class_id + "/students/" + id);
            if (enrolled.status === 204) {
              go("#/students/" + id);
              say("Enrolled.");
              return null;
            }
            return enrolled;
          })
        : null,
    );
  }
  if (owner) {
    parts.push(
      h("h2", { text: "Delete" }),
      h("button", {
        type: "button",
        class: "danger",
        id: "delete-student",
        text: "Delete student",
        onclick: async () => {
          if (!(await confirmAction("Delete " + student.display_name + " and their photo? This cannot be undone.", "Delete student"))) {
            return;
          }
          const deleted = await call("DELETE", "/v1/students/" + id);
          if (deleted.status === 204) {
            go("#/students");
            say("Student deleted.");
          } else {
            say((deleted.data && deleted.data.detail) || "Delete failed.", "error");
          }
        },
      }),
    );
  }
  return parts;
}
