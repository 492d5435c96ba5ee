import { type BuiltInLocale, BUILT_IN_LOCALES, pickLocale } from "./Locale.ts"

export interface LinkPageStrings {
  readonly heading: string // {app}
  readonly as: string // {email}
  readonly button: string
  readonly note: string
  readonly usedHeading: string
  readonly usedBody: string // {app}
  readonly expiredHeading: string
  readonly expiredBody: string // {app}
  readonly unknownHeading: string
  readonly unknownBody: string
  readonly forbiddenHeading: string
  readonly forbiddenBody: string
  readonly back: string // {app}
}

const STRINGS: Record<BuiltInLocale, LinkPageStrings> = {
  en: {
    heading: "Continue signing in to {app}",
    as: "as {email}",
    button: "Continue",
    note: "You are not signed in until you press Continue. If you did not ask to sign in, close this page.",
    usedHeading: "This link was already used",
    usedBody: "Each sign-in link works only once. Request a new one from {app}.",
    expiredHeading: "This link has expired",
    expiredBody: "Sign-in links work for a limited time. Request a new one from {app}.",
    unknownHeading: "This link is not valid",
    unknownBody: "Make sure you opened the whole link from the email, or request a new one.",
    forbiddenHeading: "Please try again",
    forbiddenBody: "For your security, open the link from your email again and press Continue.",
    back: "Back to {app}"
  },
  fr: {
    heading: "Continuer la connexion à {app}",
    as: "en tant que {email}",
    button: "Continuer",
    note: "Vous n'êtes connecté qu'après avoir appuyé sur Continuer. Si vous n'avez rien demandé, fermez cette page.",
    usedHeading: "Ce lien a déjà été utilisé",
    usedBody: "Chaque lien de connexion ne fonctionne qu'une fois. Demandez-en un nouveau sur {app}.",
    expiredHeading: "Ce lien a expiré",
    expiredBody: "Les liens de connexion sont valables peu de temps. Demandez-en un nouveau sur {app}.",
    unknownHeading: "Ce lien n'est pas valide",
    unknownBody: "Vérifiez que vous avez ouvert le lien complet de l'e-mail, ou demandez-en un nouveau.",
    forbiddenHeading: "Veuillez réessayer",
    forbiddenBody: "Pour votre sécurité, rouvrez le lien de l'e-mail et appuyez sur Continuer.",
    back: "Retour à {app}"
  },
  de: {
    heading: "Anmeldung bei {app} fortsetzen",
    as: "als {email}",
    button: "Weiter",
    note: "Sie sind erst angemeldet, wenn Sie auf Weiter drücken. Wenn Sie keine Anmeldung angefordert haben, schließen Sie diese Seite.",
    usedHeading: "Dieser Link wurde bereits verwendet",
    usedBody: "Jeder Anmeldelink funktioniert nur einmal. Fordern Sie bei {app} einen neuen an.",
    expiredHeading: "Dieser Link ist abgelaufen",
    expiredBody: "Anmeldelinks gelten nur kurze Zeit. Fordern Sie bei {app} einen neuen an.",
    unknownHeading: "Dieser Link ist ungültig",
    unknownBody: "Prüfen Sie, ob Sie den vollständigen Link aus der E-Mail geöffnet haben, oder fordern Sie einen neuen an.",
    forbiddenHeading: "Bitte versuchen Sie es erneut",
    forbiddenBody: "Öffnen Sie zu Ihrer Sicherheit den Link aus der E-Mail erneut und drücken Sie auf Weiter.",
    back: "Zurück zu {app}"
  },
  es: {
    heading: "Continuar el inicio de sesión en {app}",
    as: "como {email}",
    button: "Continuar",
    note: "No iniciarás sesión hasta que pulses Continuar. Si no lo has solicitado, cierra esta página.",
    usedHeading: "Este enlace ya se ha usado",
    usedBody: "Cada enlace de inicio de sesión funciona una sola vez. Solicita uno nuevo en {app}.",
    expiredHeading: "Este enlace ha caducado",
    expiredBody: "Los enlaces de inicio de sesión son válidos poco tiempo. Solicita uno nuevo en {app}.",
    unknownHeading: "Este enlace no es válido",
    unknownBody: "Comprueba que has abierto el enlace completo del correo o solicita uno nuevo.",
    forbiddenHeading: "Inténtalo de nuevo",
    forbiddenBody: "Por tu seguridad, vuelve a abrir el enlace del correo y pulsa Continuar.",
    back: "Volver a {app}"
  }
}

export const linkPageStrings = (locale: string | null): { readonly lang: BuiltInLocale; readonly strings: LinkPageStrings } => {
  const lang = pickLocale(locale, BUILT_IN_LOCALES, "en")
  return { lang, strings: STRINGS[lang] }
}
