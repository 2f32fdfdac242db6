// The interactive documentation of the Taruvi API: it reads the OpenAPI
// document next to it and lists every operation, with a form to try it.
// Every URL is relative to the page, so it works under /sites/<schema>/.
"use strict";

(function () {
  const schemaURL = new URL(document.body.dataset.schema || "../schema/", location.href);
  const root = new URL("../../", schemaURL); // the site: the document is <root>api/schema/
  const storageKey = "taruvi.docs.credential";
  const methods = ["get", "post", "patch", "put", "delete"];

  // el builds an element: el("td", {class: "x"}, "text", child).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  // Credentials live in this tab's session storage only.
  function credential() {
    try {
      return JSON.parse(sessionStorage.getItem(storageKey)) || null;
    } catch (e) {
      return null;
    }
  }

  function saveCredential(scheme, token) {
    if (token) sessionStorage.setItem(storageKey, JSON.stringify({ scheme, token }));
    else sessionStorage.removeItem(storageKey);
    showCredential();
  }

  function showCredential() {
    const c = credential();
    document.getElementById("credential-state").textContent = c
      ? c.scheme + " credential in use (this tab only)"
      : "no credential";
    if (c) document.getElementById("scheme").value = c.scheme;
  }

  // resolve follows a local $ref ("#/components/schemas/User").
  function resolve(doc, obj) {
    let seen = 0;
    while (obj && obj.$ref && seen++ < 20) {
      obj = obj.$ref.slice(2).split("/").reduce((o, k) => (o ? o[k] : undefined), doc);
    }
    return obj || {};
  }

  function refName(s) {
    return s && s.$ref ? s.$ref.slice(s.$ref.lastIndexOf("/") + 1) : "";
  }

  // flatten merges allOf parts into one object schema.
  function flatten(doc, s) {
    s = resolve(doc, s);
    if (!s.allOf) return s;
    const out = { type: "object", properties: {}, required: [] };
    for (const part of s.allOf) {
      const p = flatten(doc, part);
      if (p.type !== "object" && !p.properties) return Object.assign({}, p, { nullable: s.nullable });
      Object.assign(out.properties, p.properties || {});
      out.required.push(...(p.required || []));
    }
    return out;
  }

  // shape writes a schema as a short type, TypeScript-like.
  function shape(doc, s, indent, depth) {
    indent = indent || "";
    depth = depth || 0;
    const name = refName(s) || (s && s.allOf && s.allOf.length === 1 ? refName(s.allOf[0]) : "");
    const f = flatten(doc, s);
    const nul = s && s.nullable || f.nullable ? " | null" : "";
    if (f.enum) return f.enum.map((v) => JSON.stringify(v)).join(" | ") + nul;
    if (f.type === "array") return shape(doc, f.items || {}, indent, depth + 1) + "[]" + nul;
    if (f.type === "object" || f.properties) {
      if (f.additionalProperties && !f.properties) {
        return "{ [key: string]: " + shape(doc, f.additionalProperties, indent, depth + 1) + " }" + nul;
      }
      const props = Object.keys(f.properties || {});
      if (props.length === 0) return "object" + nul;
      if (depth > 5) return (name || "object") + nul;
      const required = new Set(f.required || []);
      const inner = indent + "  ";
      const lines = props.map((p) => inner + p + (required.has(p) ? "" : "?") + ": " + shape(doc, f.properties[p], inner, depth + 1));
      return (name ? name + " " : "") + "{\n" + lines.join("\n") + "\n" + indent + "}" + nul;
    }
    if (!f.type) return "any" + nul;
    return f.type + (f.format ? " <" + f.format + ">" : "") + nul;
  }

  // example makes a body to start from.
  function example(doc, s, depth) {
    depth = depth || 0;
    const f = flatten(doc, s);
    if (depth > 5) return null;
    if (f.enum) return f.enum[0];
    switch (f.type) {
      case "array": return [];
      case "boolean": return false;
      case "integer": case "number": return 0;
      case "string": return f.format === "date-time" ? new Date().toISOString() : f.format === "date" ? new Date().toISOString().slice(0, 10) : "";
    }
    if (f.properties) {
      const out = {};
      for (const [k, v] of Object.entries(f.properties)) out[k] = example(doc, v, depth + 1);
      return out;
    }
    return f.additionalProperties ? {} : null;
  }

  function secured(doc, op) {
    const sec = op.security !== undefined ? op.security : doc.security || [];
    return sec.length > 0;
  }

  // paramsView lists parameters; the operator variants of list filters
  // (status__in, due_date__lt, ...) fold away, as there are many.
  function paramsView(doc, params) {
    params = params.map((p) => resolve(doc, p));
    const main = params.filter((p) => !p.name.includes("__"));
    const ops = params.filter((p) => p.name.includes("__"));
    if (!params.length) return el("p", { class: "muted" }, "None.");
    return el("div", {}, paramsTable(doc, main),
      ops.length ? el("details", { class: "filters" }, el("summary", {}, ops.length + " filter operators"), paramsTable(doc, ops)) : null);
  }

  function paramsTable(doc, params) {
    if (!params.length) return null;
    return el("table", { class: "params" },
      el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "In"), el("th", {}, "Type"), el("th", {}, "Description"))),
      el("tbody", {}, params.map((p) => el("tr", {},
        el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null),
        el("td", {}, p.in),
        el("td", {}, el("code", {}, shape(doc, p.schema || {}))),
        el("td", {}, p.description || "")))));
  }

  function responsesView(doc, op) {
    const codes = Object.keys(op.responses || {}).sort();
    return el("div", { class: "responses" }, codes.map((code) => {
      const r = resolve(doc, op.responses[code]);
      const content = r.content || {};
      const types = Object.keys(content);
      const json = content["application/json"];
      return el("div", { class: "response" },
        el("div", {}, el("span", { class: "code code-" + code[0] }, code), " ", r.description || "",
          types.length && !json ? el("span", { class: "muted" }, " (" + types.join(", ") + ")") : null),
        json && code[0] === "2" ? el("pre", {}, shape(doc, json.schema || {})) : null);
    }));
  }

  // requestBody returns the media type and schema of op's body, if any.
  function requestBody(doc, op) {
    const body = op.requestBody && resolve(doc, op.requestBody);
    const media = body && Object.keys(body.content || {})[0];
    return media ? { media, schema: body.content[media].schema || {} } : null;
  }

  // formFields returns the inputs of a multipart body: plain fields first,
  // files last, as the server reads them in that order.
  function formFields(doc, schema) {
    const props = flatten(doc, schema).properties || {};
    const isFile = (n) => resolve(doc, props[n]).format === "binary";
    const names = Object.keys(props).sort((a, b) => isFile(a) - isFile(b));
    return names.map((n) => [n, el("input", isFile(n) ? { type: "file", name: n } : { name: n, placeholder: shape(doc, props[n]) })]);
  }

  // showResponse renders a response: JSON pretty-printed, text as it is,
  // anything else as a link to save it.
  async function showResponse(out, res, line) {
    const type = res.headers.get("Content-Type") || "";
    let body;
    if (type.startsWith("application/json") || type.startsWith("text/")) {
      const raw = await res.text();
      let shown = raw;
      try { shown = JSON.stringify(JSON.parse(raw), null, 2); } catch (e) { /* not JSON: show as is */ }
      body = el("pre", {}, shown);
    } else {
      const blob = await res.blob();
      const name = /filename="([^"]*)"/.exec(res.headers.get("Content-Disposition") || "");
      body = el("p", {}, blob.size + " bytes of " + (type || "unknown type") + " · ",
        el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "download" }, "save"));
    }
    out.replaceChildren(
      el("p", {}, el("span", { class: "code code-" + String(res.status)[0] }, res.status), " ", res.statusText,
        el("span", { class: "muted" }, line)),
      body);
  }

  function tryForm(doc, path, method, op) {
    const params = (op.parameters || []).map((p) => resolve(doc, p));
    const fields = params.filter((p) => p.in === "path" || !p.name.includes("__"));
    const filters = params.filter((p) => p.in === "query" && p.name.includes("__"));
    const body = requestBody(doc, op);
    const inputs = {};
    const form = el("form", { class: "try" });
    for (const p of fields) {
      inputs[p.name] = el("input", { name: p.name, required: p.in === "path" || p.required, placeholder: p.in + ": " + shape(doc, p.schema || {}) });
      form.append(el("label", {}, el("span", {}, p.name), inputs[p.name]));
    }
    let extra = null;
    if (filters.length) {
      extra = el("input", { name: "__query", placeholder: filters.slice(0, 2).map((p) => p.name + "=…").join("&") });
      form.append(el("label", {}, el("span", {}, "more query"), extra));
    }
    let text = null;
    let parts = [];
    if (body && body.media === "multipart/form-data") {
      parts = formFields(doc, body.schema);
      for (const [name, input] of parts) form.append(el("label", {}, el("span", {}, name), input));
    } else if (body) {
      text = el("textarea", { rows: 6, spellcheck: "false" });
      text.value = JSON.stringify(example(doc, body.schema), null, 2);
      form.append(el("label", { class: "body" }, el("span", {}, "JSON body"), text));
    }
    const out = el("div", { class: "result" });
    form.append(el("div", {}, el("button", { type: "submit" }, "Send " + method.toUpperCase())), out);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      let url = path.replace(/\{([^}]+)\}/g, (_, n) => encodeURIComponent(inputs[n].value));
      const target = new URL(url.replace(/^\//, ""), root);
      for (const p of fields) {
        if (p.in === "query" && inputs[p.name].value !== "") target.searchParams.set(p.name, inputs[p.name].value);
      }
      if (extra && extra.value.trim()) {
        for (const [k, v] of new URLSearchParams(extra.value.trim())) target.searchParams.append(k, v);
      }
      const headers = { Accept: "application/json" };
      const c = credential();
      if (c && secured(doc, op)) headers.Authorization = c.scheme + " " + c.token;
      const init = { method: method.toUpperCase(), headers };
      if (text && text.value.trim()) {
        headers["Content-Type"] = "application/json";
        init.body = text.value;
      } else if (parts.length) {
        init.body = new FormData(); // the browser sets the Content-Type with its boundary
        for (const [name, input] of parts) {
          if (input.type === "file" && input.files[0]) init.body.append(name, input.files[0]);
          else if (input.type !== "file" && input.value !== "") init.body.append(name, input.value);
        }
      }
      const line = init.method + " " + target.pathname + target.search;
      out.replaceChildren(el("p", { class: "muted" }, line + " …"));
      const started = performance.now();
      try {
        const res = await fetch(target, init);
        await showResponse(out, res, " · " + line + " · " + Math.round(performance.now() - started) + " ms");
      } catch (e) {
        out.replaceChildren(el("p", { class: "error" }, "Request failed: " + e.message));
      }
    });
    return form;
  }

  function operationView(doc, path, method, op) {
    const lock = secured(doc, op);
    const body = requestBody(doc, op);
    const details = el("details", { class: "op", id: op.operationId, "data-search": (method + " " + path + " " + op.summary).toLowerCase() },
      el("summary", {},
        el("span", { class: "method method-" + method }, method.toUpperCase()),
        el("code", { class: "path" }, path),
        el("span", { class: "summary" }, op.summary || ""),
        el("span", { class: lock ? "lock" : "lock open", title: lock ? "needs a credential" : "no credential needed" }, lock ? "credential" : "public")));
    details.append(
      op.description ? el("p", {}, op.description) : null,
      el("h4", {}, "Parameters"), paramsView(doc, op.parameters || []),
      el("h4", {}, "Request body"), body ? [el("p", { class: "muted" }, body.media), el("pre", {}, shape(doc, body.schema))] : el("p", { class: "muted" }, "None."),
      el("h4", {}, "Responses"), responsesView(doc, op),
      el("h4", {}, "Try it"), tryForm(doc, path, method, op));
    return details;
  }

  function render(doc) {
    document.getElementById("version").textContent = "version " + (doc.info && doc.info.version || "");
    const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const path of Object.keys(doc.paths || {}).sort()) {
      for (const m of methods) {
        const op = doc.paths[path][m];
        if (!op) continue;
        const name = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(name)) byTag.set(name, { tag: { name }, ops: [] });
        byTag.get(name).ops.push([path, m, op]);
      }
    }
    const main = document.getElementById("ops");
    const toc = document.getElementById("toc-list");
    main.replaceChildren();
    toc.replaceChildren();
    for (const { tag, ops } of byTag.values()) {
      if (!ops.length) continue;
      toc.append(el("li", {}, el("a", { href: "#tag-" + tag.name }, tag.name), el("span", { class: "muted" }, " " + ops.length)));
      main.append(el("section", { id: "tag-" + tag.name, class: "tag" },
        el("h2", {}, tag.name), tag.description ? el("p", { class: "muted" }, tag.description) : null,
        ops.map(([p, m, op]) => operationView(doc, p, m, op))));
    }
    openLinked();
  }

  // openLinked opens the operation the address names (#get_api_users_id).
  function openLinked() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView();
    }
  }

  function filter(text) {
    const q = text.trim().toLowerCase();
    for (const section of document.querySelectorAll("section.tag")) {
      let shown = 0;
      for (const op of section.querySelectorAll("details.op")) {
        const hit = !q || op.dataset.search.includes(q);
        op.hidden = !hit;
        if (hit) shown++;
      }
      section.hidden = shown === 0;
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const login = document.getElementById("login").value.trim();
    const body = { password: document.getElementById("password").value };
    body[login.includes("@") ? "email" : "username"] = login;
    const state = document.getElementById("credential-state");
    try {
      const res = await fetch(new URL("api/auth/jwt/token/", root), {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body),
      });
      const env = await res.json();
      if (!res.ok) {
        state.textContent = "Sign-in failed: " + (env.message || res.status);
        return;
      }
      document.getElementById("password").value = "";
      saveCredential("Bearer", env.data.access);
    } catch (e) {
      state.textContent = "Sign-in failed: " + e.message;
    }
  }

  async function load() {
    const state = document.getElementById("load-state");
    try {
      const res = await fetch(schemaURL, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error("HTTP " + res.status);
      render(await res.json());
    } catch (e) {
      state.textContent = "Could not load the API description from " + schemaURL.pathname + ": " + e.message;
      state.className = "error";
    }
  }

  document.getElementById("credential").addEventListener("submit", (ev) => {
    ev.preventDefault();
    saveCredential(document.getElementById("scheme").value, document.getElementById("token").value.trim());
    document.getElementById("token").value = "";
  });
  document.getElementById("forget").addEventListener("click", () => saveCredential("", ""));
  document.getElementById("signin").addEventListener("submit", signIn);
  document.getElementById("filter").addEventListener("input", (ev) => filter(ev.target.value));
  window.addEventListener("hashchange", openLinked);
  showCredential();
  load();
})();
