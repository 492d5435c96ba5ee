// Sesame console (#14): small progressive enhancements; every form works without this file.

// (No select submits its form on change: WCAG 3.2.2 wants the change of page to follow a button.)

// <button data-copy="#id">: copies the element's text (a new key's secret) to the clipboard.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy)
    if (source === null) return
    try {
      await navigator.clipboard.writeText(source.textContent ?? "")
      button.textContent = "Copied"
    } catch {
      const range = document.createRange()
      range.selectNodeContents(source)
      getSelection()?.removeAllRanges()
      getSelection()?.addRange(range)
      button.textContent = "Selected: press Ctrl+C"
    }
  })
}

// <form data-confirm="…">: asks before a destructive change (the server decides anyway).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!confirm(form.dataset.confirm)) event.preventDefault()
  })
}
