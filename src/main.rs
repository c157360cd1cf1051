//! Entry point: everything happens in `lambda_secrets::run`, which only returns on failure
//! (success replaces this process with the command).

fn main() -> std::process::ExitCode {
    let code = lambda_secrets::run(std::env::args_os().collect());
    std::process::ExitCode::from(code)
}
