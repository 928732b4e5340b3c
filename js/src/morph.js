// Updating a streamed tail in place. The open tail of a reply is rendered again on
// every update; putting the new nodes in place of the old ones made the browser lay
// out and shape the whole tail again (a 100,000-character paragraph: tens of ms per
// frame and panel). Changing only what differs, and appending to a text node that
// grew, lets it reuse the lines and the shaped text it already has. The result is the
// same DOM as the fresh render.

const DEEP = 64; // below this depth a changed subtree is replaced, not compared

/** Same kind of node: same type, and for elements the same tag and attributes. @param {Node} a @param {Node} b */
function alike(a, b) {
  if (a.nodeType !== b.nodeType) return false;
  if (a.nodeType !== 1) return true;
  const x = /** @type {Element} */ (a);
  const y = /** @type {Element} */ (b);
  if (x.tagName !== y.tagName || x.attributes.length !== y.attributes.length) return false;
  for (const { name, value } of y.attributes) if (x.getAttribute(name) !== value) return false;
  return true;
}

/**
 * Make `old` (the last children of `parent`, in order) look like the children of
 * `fresh`, changing only what differs; returns the nodes now shown.
 * @param {ParentNode} parent @param {ChildNode[]} old @param {ParentNode} fresh @param {number} [depth]
 * @returns {ChildNode[]}
 */
export function morph(parent, old, fresh, depth = 0) {
  const next = [...fresh.childNodes];
  /** @type {ChildNode[]} */
  const out = [];
  const n = Math.min(old.length, next.length);
  for (let i = 0; i < n; i++) {
    const a = old[i];
    const b = next[i];
    if (!alike(a, b) || (depth >= DEEP && a.nodeType === 1)) {
      a.replaceWith(b);
      out.push(b);
    } else if (a.nodeType === 1) {
      morph(/** @type {Element} */ (a), [...a.childNodes], /** @type {Element} */ (b), depth + 1);
      out.push(a);
    } else {
      const t = /** @type {CharacterData} */ (a);
      const d = /** @type {CharacterData} */ (b).data;
      if (t.data !== d) {
        if (d.startsWith(t.data)) t.appendData(d.slice(t.data.length));
        else t.data = d;
      }
      out.push(a);
    }
  }
  for (let i = n; i < old.length; i++) old[i].remove();
  for (let i = n; i < next.length; i++) out.push(next[i]);
  parent.append(...next.slice(n));
  return out;
}
