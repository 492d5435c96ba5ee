// Branding (#14): live previews while the operator types. Without this file the "Preview" buttons do the same.

const debounce = (fn, ms) => {
  let timer
  return () => {
    clearTimeout(timer)
    timer = setTimeout(fn, ms)
  }
}

// The brand form: the frames' src and the SMS text follow the draft (the form's fields, never its CSRF token).
const brand = document.querySelector("form[data-preview-base]")
if (brand !== null) {
  const base = brand.dataset.previewBase
  const email = document.getElementById("preview-email")
  const page = document.getElementById("preview-page")
  const text = (id, value) => {
    const element = document.getElementById(id)
    if (element !== null) element.textContent = value
  }
  let latest = 0
  const update = async () => {
    const fields = new FormData(brand)
    fields.delete("csrf")
    if (fields.get("mode") !== "test") fields.delete("mode")
    const query = new URLSearchParams(fields).toString()
    email.src = `${base}email?${query}`
    page.src = `${base}page?${query}`
    history.replaceState(null, "", `${location.pathname}?${query}`)
    const mine = ++latest
    try {
      const [sms, meta] = await Promise.all([
        fetch(`${base}sms?${query}`).then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status))))),
        fetch(`${base}meta?${query}`).then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      ])
      if (mine !== latest) return
      text("preview-sms", sms)
      text("preview-sms-info", meta.smsInfo)
      text("preview-subject", meta.subject)
      text("preview-from", meta.from)
      text("preview-reply-to", meta.replyTo)
      text("preview-note", meta.note)
    } catch {
      if (mine === latest) text("preview-note", "The preview could not be updated: press Preview.")
    }
  }
  const later = debounce(update, 300)
  brand.addEventListener("input", later)
  brand.addEventListener("change", later)

  // A colour picker beside the text field (the field stays the value that is saved).
  const picker = document.getElementById("primaryColorPicker")
  const color = document.getElementById("primaryColor")
  if (picker !== null && color !== null) {
    picker.closest(".picker").hidden = false
    picker.addEventListener("input", () => {
      color.value = picker.value
      later()
    })
    color.addEventListener("input", () => {
      if (/^#[0-9a-fA-F]{6}$/.test(color.value.trim())) picker.value = color.value.trim().toLowerCase()
    })
  }
}

// The template editor: the Preview button (which posts the draft into the preview frame) pressed for the operator.
const editor = document.getElementById("template-form")
const previewButton = document.getElementById("template-preview-button")
if (editor !== null && previewButton !== null) {
  const later = debounce(() => {
    if (editor.checkValidity()) editor.requestSubmit(previewButton)
  }, 600)
  editor.addEventListener("input", later)
  editor.addEventListener("change", later)
}
