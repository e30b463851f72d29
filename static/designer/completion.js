/*
 * Text editor completion for ORS SCXML (CodeMirror 5 show-hint + xml-hint):
 *   - SCXML elements and attributes, and the ORS extension actions with their attributes and
 *     allowed values, from the extension declarations of GET /api/authoring/palette (the same
 *     declarations the lint checks), under the prefixes the open document declares;
 *   - state ids of the open document in `target` and `initial`;
 *   - in `event`, the events the strategy can receive: those of the extension actions it calls
 *     first, then its own <send>/<raise> events, then every declared event;
 *   - the palette's blocks as snippets (EditorCompletion.insertSnippet).
 *
 *   const completion = EditorCompletion.create(palette);   // palette JSON {blocks, extensions}
 *   completion.hint(cm)                                     // a show-hint `hint` function result
 */
(function (global) {
  "use strict";

  const EXEC = ["raise", "if", "elseif", "else", "foreach", "log", "assign", "script", "send", "cancel"];
  const STATE_CHILDREN = ["onentry", "onexit", "transition", "initial", "state", "parallel", "final", "history", "datamodel", "invoke"];

  /** SCXML core: attrs (null = free text, array = values, "states"/"events" = from the document). */
  const CORE = {
    scxml: { attrs: { version: ["1.0"], initial: "states", name: null, datamodel: ["ecmascript"], binding: ["early", "late"], profile: ["ecmascript"] }, children: ["state", "parallel", "final", "datamodel", "script"] },
    state: { attrs: { id: null, initial: "states" }, children: STATE_CHILDREN },
    parallel: { attrs: { id: null }, children: STATE_CHILDREN.filter((c) => c !== "initial") },
    final: { attrs: { id: null }, children: ["onentry", "onexit", "donedata"] },
    history: { attrs: { id: null, type: ["shallow", "deep"] }, children: ["transition"] },
    initial: { attrs: {}, children: ["transition"] },
    transition: { attrs: { event: "events", cond: null, target: "states", type: ["internal", "external"] }, children: "exec" },
    onentry: { attrs: {}, children: "exec" },
    onexit: { attrs: {}, children: "exec" },
    finalize: { attrs: {}, children: "exec" },
    if: { attrs: { cond: null }, children: "exec" },
    elseif: { attrs: { cond: null }, children: [] },
    else: { attrs: {}, children: [] },
    foreach: { attrs: { array: null, item: null, index: null }, children: "exec" },
    log: { attrs: { label: null, expr: null }, children: [] },
    assign: { attrs: { location: null, expr: null }, children: [] },
    script: { attrs: { src: null }, children: [] },
    raise: { attrs: { event: "events" }, children: [] },
    send: {
      attrs: { event: "events", eventexpr: null, target: null, targetexpr: null, type: null, typeexpr: null, id: null, idlocation: null, delay: null, delayexpr: null, namelist: null },
      children: ["param", "content"],
    },
    cancel: { attrs: { sendid: null, sendidexpr: null }, children: [] },
    datamodel: { attrs: {}, children: ["data"] },
    data: { attrs: { id: null, src: null, expr: null }, children: [] },
    invoke: {
      attrs: { type: null, typeexpr: null, src: null, srcexpr: null, id: null, idlocation: null, namelist: null, autoforward: ["true", "false"] },
      children: ["param", "content", "finalize"],
    },
    param: { attrs: { name: null, expr: null, location: null }, children: [] },
    content: { attrs: { expr: null }, children: [] },
    donedata: { attrs: {}, children: ["content", "param"] },
  };

  /** Namespace URI -> prefix, as the document declares them (xmlns:queue="..."). */
  function declaredPrefixes(text) {
    const out = {};
    for (const m of text.matchAll(/xmlns:([\w.-]+)\s*=\s*["']([^"']+)["']/g)) out[m[2]] = m[1];
    return out;
  }

  /** Ids of the document's states (state, parallel, final, history), in document order. */
  function stateIds(text) {
    const ids = [];
    for (const m of text.matchAll(/<(?:[\w.-]+:)?(?:state|parallel|final|history)\b[^>]*?\sid\s*=\s*["']([^"']+)["']/g)) {
      if (!ids.includes(m[1])) ids.push(m[1]);
    }
    return ids;
  }

  function create(palette) {
    const modules = (palette && palette.extensions) || [];
    const blocks = (palette && palette.blocks) || [];
    const allEvents = [];
    for (const mod of modules) for (const a of mod.actions) for (const e of a.events || []) if (!allEvents.includes(e)) allEvents.push(e);

    /** The prefix the document uses for a module (its short name when undeclared). */
    function prefixOf(mod, prefixes) {
      for (const ns of mod.namespaces) if (prefixes[ns]) return prefixes[ns];
      return mod.short;
    }

    /** Events the open document can receive: its actions' events, its own sends/raises, then all. */
    function events(text, prefixes) {
      const out = [];
      const add = (e) => e && !out.includes(e) && out.push(e);
      for (const mod of modules) {
        const p = prefixOf(mod, prefixes);
        for (const a of mod.actions) if (new RegExp("<" + p + ":" + a.name + "\\b").test(text)) (a.events || []).forEach(add);
      }
      for (const m of text.matchAll(/<(?:send|raise)\b[^>]*?\sevent\s*=\s*["']([^"']+)["']/g)) add(m[1]);
      allEvents.forEach(add);
      return out;
    }

    function attrsOf(decls) {
      const attrs = {};
      for (const a of decls || []) attrs[a.name] = a.values && a.values.length ? a.values.slice() : a.type === "boolean" ? ["true", "false"] : null;
      return attrs;
    }

    /** The xml-hint schema of a document (its prefixes, its states, its events). */
    function schema(text) {
      const prefixes = declaredPrefixes(text);
      const ids = stateIds(text);
      const evs = events(text, prefixes);
      const tags = {};
      const extActions = [];
      const addChildren = (prefix, children) =>
        children.map((c) => {
          const name = prefix + ":" + c.tag;
          tags[name] = { attrs: attrsOf(c.attributes), children: addChildren(prefix, c.children || []) };
          return name;
        });
      for (const mod of modules) {
        const p = prefixOf(mod, prefixes);
        for (const a of mod.actions) {
          const name = p + ":" + a.name;
          extActions.push(name);
          tags[name] = { attrs: attrsOf(a.attributes), children: addChildren(p, a.children || []) };
        }
      }
      const exec = EXEC.concat(extActions);
      for (const [name, spec] of Object.entries(CORE)) {
        const attrs = {};
        for (const [k, v] of Object.entries(spec.attrs)) attrs[k] = v === "states" ? ids.slice() : v === "events" ? evs.slice() : v;
        tags[name] = { attrs: attrs, children: spec.children === "exec" ? exec : spec.children };
      }
      tags["!top"] = ["scxml"];
      return tags;
    }

    /** show-hint `hint` function: xml-hint over the document's schema. */
    function hint(cm, options) {
      return CodeMirror.hint.xml(cm, Object.assign({}, options || {}, { schemaInfo: schema(cm.getValue()) }));
    }

    /** Inserts a block's snippet at the cursor, re-indented to the cursor's line indentation. */
    function insertSnippet(cm, kind) {
      const block = blocks.find((b) => b.kind === kind);
      if (!block || !block.snippet) return false;
      const cur = cm.getCursor();
      const indent = (cm.getLine(cur.line).match(/^\s*/) || [""])[0];
      const lines = block.snippet.replace(/\n$/, "").split("\n");
      const text = lines.map((l, i) => (i === 0 ? l : indent + l)).join("\n");
      cm.replaceRange(text, cur);
      cm.focus();
      return true;
    }

    return { schema: schema, hint: hint, insertSnippet: insertSnippet, blocks: blocks, stateIds: stateIds };
  }

  global.EditorCompletion = { create: create, stateIds: stateIds, declaredPrefixes: declaredPrefixes };
})(window);
