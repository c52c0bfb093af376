// Building DOM and SVG nodes. Text always goes in as text nodes (never as
// HTML), so anything a user typed is shown literally and can run nothing.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: el("button", {class: "x", onclick: f}, "label") */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, same calling convention as el(). */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** A definition list from [label, value] pairs. */
export function fields(pairs) {
  const dl = el("dl");
  for (const [label, value] of pairs) {
    dl.append(el("dt", { text: label }), el("dd", {}, value instanceof Node ? value : String(value)));
  }
  return dl;
}

export const serverName = (id) => (id === null || id === undefined ? "—" : `S${id}`);

export function ms(t) {
  return `${Number(t).toFixed(1)} ms`;
}
