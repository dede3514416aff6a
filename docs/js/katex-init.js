// Typeset the math that pymdownx.arithmatex marks with \( \) and \[ \], on every page load
// (material's document$ also fires after instant navigation). KaTeX is copied into the site
// from node_modules by tools/hooks.py; nothing is fetched from another host.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: true,
  });
});
