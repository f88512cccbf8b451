// Text widths without a DOM (the CLI runs this code in V8 without one): per-character
// advance widths of a Helvetica-like sans-serif, in ems. Close enough to size boxes the same
// way in the browser and in `tb-archviz export`.

const NARROW = new Set("il.,:;|!'`ijtf1 ()[]-/\\".split(''));
const WIDE = new Set('mwMW@%'.split(''));

export function textWidth(text, size) {
  let w = 0;
  for (const ch of String(text)) {
    if (NARROW.has(ch)) w += 0.3;
    else if (WIDE.has(ch)) w += 0.86;
    else if (ch >= 'A' && ch <= 'Z') w += 0.67;
    else if (ch >= '0' && ch <= '9') w += 0.56;
    else if (ch >= 'a' && ch <= 'z') w += 0.52;
    else w += 0.62;
  }
  return Math.ceil(w * size);
}
