//! Rocket's hello-world, nothing else: `GET /` answers "Hello, world!".

#[rocket::get("/")]
fn index() -> &'static str {
    "Hello, world!"
}

#[rocket::launch]
fn rocket() -> _ {
    rocket::build().mount("/", rocket::routes![index])
}
