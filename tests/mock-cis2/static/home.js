// Logged-in page: removing the card ends the session.

const status = document.getElementById("status");

async function logOut(reason) {
  try {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    location.assign(`/?reason=${encodeURIComponent(reason)}`);
  }
}

document.getElementById("logout").addEventListener("click", () => logOut("logged-out"));

try {
  const carecard = await import("/carecard.js");
  const watching = carecard.onCardEvent((event) => {
    if (event?.event === "card-removed") logOut("card-removed");
  });
  if (await watching.ready) {
    // A card pulled out before the watch began raised no event: look once now.
    const { readers } = await carecard.status();
    if (readers.some((reader) => reader.card)) {
      document.body.dataset.watchingCard = "true";
    } else {
      logOut("card-removed");
    }
  } else {
    status.textContent = "Card removal cannot be watched: the carecard extension did not answer.";
  }
} catch (error) {
  status.textContent = `Card removal cannot be watched: ${error?.message ?? error}`;
}
