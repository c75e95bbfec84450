// Progressive enhancement only: every page works without this file.
// 1. Math: KaTeX renders $...$, $$...$$, \(...\), \[...\] in titles, abstracts and comments.
//    trust: false keeps \href, \url, \includegraphics and friends from making links or loading anything.
// 2. A "Copy" button for the BibTeX entry.
"use strict";

function renderMath() {
  if (typeof window.renderMathInElement !== "function") {
    return;
  }
  const options = {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
    ],
    trust: false,
    throwOnError: false,
    strict: "ignore",
    maxSize: 20,
    maxExpand: 200,
  };
  document.querySelectorAll(".tex").forEach(function (el) {
    try {
      window.renderMathInElement(el, options);
    } catch (err) {
      // leave the source text as it is
    }
  });
}

function addCopyButton() {
  const pre = document.getElementById("bibtex");
  if (!pre || !navigator.clipboard) {
    return;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy BibTeX";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.textContent).then(
      function () { button.textContent = "Copied"; },
      function () { button.textContent = "Select the text to copy"; },
    );
  });
  pre.parentNode.insertBefore(button, pre.nextSibling);
}

document.addEventListener("DOMContentLoaded", function () {
  renderMath();
  addCopyButton();
});
