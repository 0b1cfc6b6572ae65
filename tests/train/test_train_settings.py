

def test_the_progress_bar_shows_every_loss_term():
    from instructune.train.progress import train_info

    text = train_info({"loss": 1.23456, "lr": 2e-4, "ewc_loss": 0.0123, "temperature_loss": 0.5,
                       "eval_loss": 1.3, "tokens_per_s": 812.4})
    assert text == "loss 1.2346 ewc 0.0123 temperature 0.5 lr 2.00e-04 eval 1.3000 812 tok/s"
