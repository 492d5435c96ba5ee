import { BUILT_IN_LOCALES, type BuiltInLocale, pickLocale } from "./Locale.ts"

/** Built-in email and SMS wording per locale. `{app}` and `{min}` are filled in by the renderer. */
export interface EmailTexts {
  readonly subjectOtp: string
  readonly subjectLink: string
  readonly subjectSignup: string
  readonly headerSignin: string
  readonly headerSignup: string
  readonly purposeSignin: string
  readonly purposeSignup: string
  readonly bodyOtp: string // {purpose}
  readonly bodyLink: string
  readonly bodyLinkOtp: string
  readonly linkSignin: string
  readonly linkSignup: string
  readonly sms: string
  /** The fixed words around the content: before an approval summary, the code, the link's plain copy; the notice. */
  readonly approving: string
  readonly yourCode: string
  readonly copyLink: string
  readonly ignoreNotice: string
}

const TEXTS: Record<BuiltInLocale, EmailTexts> = {
  en: {
    subjectOtp: "Your {app} sign-in code", subjectLink: "Sign in to {app}", subjectSignup: "Confirm your email for {app}",
    headerSignin: "Sign in to {app}", headerSignup: "Confirm your email for {app}",
    purposeSignin: "sign in to {app}", purposeSignup: "confirm your email address and finish signing up for {app}",
    bodyOtp: "Use this code to {purpose}. It expires in {min} minutes.",
    bodyLink: "Click the button below to {purpose}. The link expires in {min} minutes.",
    bodyLinkOtp: "Click the button below to {purpose}, or enter the code shown. Both expire in {min} minutes.",
    linkSignin: "Sign in to {app}", linkSignup: "Confirm email",
    sms: "Your {{appName}} code is {{code}}. It expires in {{expiresInMinutes}} minutes.",
    approving: "You are approving:", yourCode: "Your code:",
    copyLink: "Or copy and paste this link into your browser:",
    ignoreNotice: "If you didn't request this, you can ignore this email."
  },
  fr: {
    subjectOtp: "Votre code de connexion {app}", subjectLink: "Connexion à {app}", subjectSignup: "Confirmez votre e-mail pour {app}",
    headerSignin: "Connexion à {app}", headerSignup: "Confirmez votre e-mail pour {app}",
    purposeSignin: "vous connecter à {app}", purposeSignup: "confirmer votre adresse e-mail et terminer votre inscription à {app}",
    bodyOtp: "Utilisez ce code pour {purpose}. Il expire dans {min} minutes.",
    bodyLink: "Cliquez sur le bouton ci-dessous pour {purpose}. Le lien expire dans {min} minutes.",
    bodyLinkOtp: "Cliquez sur le bouton ci-dessous pour {purpose}, ou saisissez le code affiché. Les deux expirent dans {min} minutes.",
    linkSignin: "Se connecter à {app}", linkSignup: "Confirmer l'e-mail",
    sms: "Votre code {{appName}} est {{code}}. Il expire dans {{expiresInMinutes}} minutes.",
    approving: "Vous approuvez :", yourCode: "Votre code :",
    copyLink: "Ou copiez et collez ce lien dans votre navigateur :",
    ignoreNotice: "Si vous n'êtes pas à l'origine de cette demande, vous pouvez ignorer cet e-mail."
  },
  de: {
    subjectOtp: "Ihr Anmeldecode für {app}", subjectLink: "Bei {app} anmelden", subjectSignup: "Bestätigen Sie Ihre E-Mail für {app}",
    headerSignin: "Bei {app} anmelden", headerSignup: "Bestätigen Sie Ihre E-Mail für {app}",
    purposeSignin: "sich bei {app} anzumelden", purposeSignup: "Ihre E-Mail-Adresse zu bestätigen und die Registrierung bei {app} abzuschließen",
    bodyOtp: "Verwenden Sie diesen Code, um {purpose}. Er läuft in {min} Minuten ab.",
    bodyLink: "Klicken Sie auf die Schaltfläche unten, um {purpose}. Der Link läuft in {min} Minuten ab.",
    bodyLinkOtp: "Klicken Sie auf die Schaltfläche unten oder geben Sie den angezeigten Code ein, um {purpose}. Beide laufen in {min} Minuten ab.",
    linkSignin: "Bei {app} anmelden", linkSignup: "E-Mail bestätigen",
    sms: "Ihr {{appName}}-Code lautet {{code}}. Er läuft in {{expiresInMinutes}} Minuten ab.",
    approving: "Sie bestätigen:", yourCode: "Ihr Code:",
    copyLink: "Oder kopieren Sie diesen Link in die Adresszeile Ihres Browsers:",
    ignoreNotice: "Wenn Sie dies nicht angefordert haben, können Sie diese E-Mail ignorieren."
  },
  es: {
    subjectOtp: "Tu código de acceso a {app}", subjectLink: "Inicia sesión en {app}", subjectSignup: "Confirma tu correo para {app}",
    headerSignin: "Inicia sesión en {app}", headerSignup: "Confirma tu correo para {app}",
    purposeSignin: "iniciar sesión en {app}", purposeSignup: "confirmar tu correo y terminar el registro en {app}",
    bodyOtp: "Usa este código para {purpose}. Caduca en {min} minutos.",
    bodyLink: "Pulsa el botón de abajo para {purpose}. El enlace caduca en {min} minutos.",
    bodyLinkOtp: "Pulsa el botón de abajo para {purpose} o introduce el código. Ambos caducan en {min} minutos.",
    linkSignin: "Iniciar sesión en {app}", linkSignup: "Confirmar correo",
    sms: "Tu código de {{appName}} es {{code}}. Caduca en {{expiresInMinutes}} minutos.",
    approving: "Estás aprobando:", yourCode: "Tu código:",
    copyLink: "O copia y pega este enlace en tu navegador:",
    ignoreNotice: "Si no lo has solicitado, puedes ignorar este correo."
  }
}

/** Every built-in locale's texts (tests check that a rendered email holds no other locale's words). */
export const builtInTexts: Readonly<Record<BuiltInLocale, EmailTexts>> = TEXTS

export const emailTexts = (locale: string | null | undefined): { readonly locale: BuiltInLocale; readonly texts: EmailTexts } => {
  const picked = pickLocale(locale, BUILT_IN_LOCALES, "en")
  return { locale: picked, texts: TEXTS[picked] }
}

const fill = (s: string, values: Readonly<Record<string, string>>) => s.replace(/\{(\w+)\}/gu, (m, k: string) => values[k] ?? m)

/** The default subject, header, body and button text for a message, in the best built-in locale. */
export const localizedDefaults = (
  input: { readonly type: "OTP" | "LINK" | "LINK_OTP"; readonly template: "SIGNIN" | "SIGNUP"; readonly locale?: string | null | undefined },
  appName: string,
  minutes: number
) => {
  const t = emailTexts(input.locale).texts
  const signup = input.template === "SIGNUP"
  const v = { app: appName, min: String(minutes) }
  const purpose = fill(signup ? t.purposeSignup : t.purposeSignin, v)
  const body = input.type === "OTP" ? t.bodyOtp : input.type === "LINK" ? t.bodyLink : t.bodyLinkOtp
  return {
    subject: fill(signup ? t.subjectSignup : input.type === "OTP" ? t.subjectOtp : t.subjectLink, v),
    headerText: fill(signup ? t.headerSignup : t.headerSignin, v),
    bodyText: fill(body, { ...v, purpose }),
    linkText: fill(signup ? t.linkSignup : t.linkSignin, v)
  }
}
